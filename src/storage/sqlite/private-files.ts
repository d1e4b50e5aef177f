import { closeSync, existsSync, mkdirSync, openSync, statSync } from "node:fs";
import { dirname } from "node:path";

/** Permission bits of files Tessera creates: owner read and write only. */
export const PRIVATE_FILE_MODE = 0o600;
/** Permission bits of folders Tessera creates: owner only. */
const PRIVATE_DIRECTORY_MODE = 0o700;

/**
 * Creates `path` as an empty file readable and writable by its owner only (and its missing
 * folders as owner-only), unless it exists. SQLite then opens the empty file as a new
 * database, and creates the -wal and -shm files with the database file's own mode, so none of
 * them is ever readable by other users, whatever the umask. An existing file is left as it is:
 * its mode is the operator's choice (see `exposedFiles`).
 */
export function createPrivateFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
  try {
    // O_EXCL: never follows a link or truncates what another process just created.
    closeSync(openSync(path, "wx", PRIVATE_FILE_MODE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
}

/** A database file or its folder that users other than its owner can read or change. */
export interface FileExposure {
  path: string;
  kind: "file" | "directory";
  /** Permission bits, e.g. 0o644. */
  mode: number;
  /** The group may read it (a file) or change what it holds (a folder). */
  groupRead: boolean;
  groupWrite: boolean;
  /** Every local user may read it (a file) or change what it holds (a folder). */
  othersRead: boolean;
  othersWrite: boolean;
}

/**
 * The files of the database at `dbPath` (the file, its -wal and -shm) that are readable or
 * writable by group or others, and its folder when group or others may write in it (and so
 * replace the database or plant a -wal file). A folder others may only list is not reported:
 * the file modes protect the contents. Judged on the permission bits alone, as the owner
 * (or root, who reads everything anyway) cannot tell from access(2) what another user may do.
 */
export function exposedFiles(dbPath: string): FileExposure[] {
  const out: FileExposure[] = [];
  if (dbPath === ":memory:") return out;
  for (const path of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`]) {
    if (!existsSync(path)) continue;
    const mode = statSync(path).mode & 0o777;
    const e = exposure(path, "file", mode);
    if (e.groupRead || e.groupWrite || e.othersRead || e.othersWrite) out.push(e);
  }
  const dir = dirname(dbPath);
  const mode = statSync(dir).mode & 0o777;
  const d = exposure(dir, "directory", mode);
  if (d.groupWrite || d.othersWrite) out.push({ ...d, groupRead: false, othersRead: false });
  return out;
}

function exposure(path: string, kind: FileExposure["kind"], mode: number): FileExposure {
  return {
    path,
    kind,
    mode,
    groupRead: (mode & 0o040) !== 0,
    groupWrite: (mode & 0o020) !== 0,
    othersRead: (mode & 0o004) !== 0,
    othersWrite: (mode & 0o002) !== 0,
  };
}
