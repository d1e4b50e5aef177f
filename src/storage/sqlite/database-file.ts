import { accessSync, constants, mkdirSync, rmdirSync, rmSync, statSync } from "node:fs";
import { userInfo } from "node:os";
import { dirname, resolve } from "node:path";

/** A database path that cannot work; the message says what is wrong and what to do. */
export class DatabasePathError extends Error {
  override readonly name = "DatabasePathError";
}

/** Where a database file goes: its absolute path, whether it exists, and the folders still missing. */
export interface DatabasePlace {
  readonly path: string;
  readonly exists: boolean;
  /** Folders to create, outermost first; empty when the folder exists. */
  readonly missingDirs: readonly string[];
}

/**
 * Checks, before anything is created, that `path` can be opened as a writable SQLite database:
 * not a folder, readable and writable, in a folder where SQLite may create its -wal and -shm
 * files (or a folder that can be created there). `where` names the setting (`--db`, TESSERA_DB).
 */
export function checkDatabasePath(path: string, where: string): DatabasePlace {
  const file = resolve(path);
  const stat = statOrUndefined(file, where);
  if (stat?.isDirectory()) {
    throw new DatabasePathError(
      `${where} names ${file}, which is a folder: give the path of a database file, such as ${resolve(file, "tessera.db")}.`,
    );
  }
  if (stat && !stat.isFile())
    throw new DatabasePathError(`${where} names ${file}, which is not a regular file: give the path of a database file.`);
  if (stat) {
    if (!usable(file, constants.R_OK | constants.W_OK)) {
      throw new DatabasePathError(
        `The database ${file} is read-only for ${who()}: Tessera writes clients and keys to it. Make it writable (chown or chmod u+w) or run Tessera as its owner.`,
      );
    }
    writableFolder(dirname(file), file);
    return { path: file, exists: true, missingDirs: [] };
  }
  const missingDirs: string[] = [];
  let dir = dirname(file);
  for (let s = statOrUndefined(dir, where); s === undefined; s = statOrUndefined(dir, where)) {
    missingDirs.unshift(dir);
    dir = dirname(dir);
  }
  if (!statSync(dir).isDirectory()) throw new DatabasePathError(`${where} names ${file}, but ${dir} is a file, not a folder.`);
  writableFolder(dir, file);
  return { path: file, exists: false, missingDirs };
}

/** Creates the missing folders of `place` (mode 0700: the database holds the signing keys). */
export function createDatabaseDirs(place: DatabasePlace): void {
  for (const dir of place.missingDirs) mkdirSync(dir, { mode: 0o700 });
}

/**
 * Removes what opening `place` created when it did not exist before: the file, SQLite's
 * companion files and the folders made for it. Used when start-up fails after opening, so a
 * failed start leaves nothing behind.
 */
export function removeCreatedDatabase(place: DatabasePlace): void {
  if (place.exists) return;
  for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(place.path + suffix, { force: true });
  for (const dir of [...place.missingDirs].reverse()) {
    try {
      rmdirSync(dir);
    } catch {
      return; // not empty: someone else put something there; leave it
    }
  }
}

function statOrUndefined(path: string, where: string) {
  try {
    return statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    if (code === "ENOTDIR") throw new DatabasePathError(`${where} names ${path}, but one of its parent folders is a file.`);
    throw new DatabasePathError(`${where} names ${path}, which ${who()} cannot reach (${code}): check the permissions of its folders.`);
  }
}

function writableFolder(dir: string, file: string): void {
  if (!usable(dir, constants.W_OK | constants.X_OK)) {
    throw new DatabasePathError(
      `The folder ${dir} is not writable for ${who()}, and SQLite creates files beside ${file} there: make the folder writable, or choose another path with --db or TESSERA_DB.`,
    );
  }
}

function usable(path: string, mode: number): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false; // EACCES, EROFS (read-only file system), EPERM
  }
}

function who(): string {
  const uid = process.getuid?.();
  if (uid === undefined) return "this user";
  try {
    return `user ${userInfo().username} (uid ${uid})`;
  } catch {
    return `uid ${uid}`;
  }
}
