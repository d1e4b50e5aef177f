import { closeSync, existsSync, openSync, renameSync, rmSync, statSync } from "node:fs";
import Database from "better-sqlite3";
import { PRIVATE_FILE_MODE } from "../storage/sqlite/private-files.js";
import { databaseOption } from "./database-option.js";
import { UsageError } from "./usage.js";

/**
 * `tessera backup FILE`: a consistent copy of the live database through SQLite's online backup
 * API, safe while servers are running and writing. A PostgreSQL database is backed up with
 * PostgreSQL's own tools: the command says so and which.
 */
export async function backupCommand(dest: string, o: { db?: string; force?: boolean }, env: NodeJS.ProcessEnv): Promise<void> {
  const choice = databaseOption(o.db, env);
  if (choice.kind === "postgres") {
    throw new UsageError(
      `tessera backup copies SQLite files; back up the PostgreSQL database ${choice.shown} with pg_dump (pg_dump --format=custom --file=${dest} and the same connection settings; pg_restore restores it), or make a SQLite copy of it with tessera copy --from URL --to ${dest}.`,
    );
  }
  const { db: source, source: where } = choice;
  if (!existsSync(source) || !statSync(source).isFile())
    throw new UsageError(`There is no database file at ${source} (from ${where}); give its path with --db or TESSERA_DB.`);
  if (existsSync(dest) && !o.force) throw new UsageError(`${dest} exists; choose another file or pass --force.`);
  let db: Database.Database;
  try {
    db = new Database(source, { readonly: true, fileMustExist: true });
    db.pragma("schema_version"); // fails at once on a file that is not a database
  } catch (err) {
    throw new UsageError(`${source} cannot be read as a Tessera database (${(err as Error).message}).`);
  }
  // Write beside the destination and rename at the end, so a failed backup never leaves a
  // half-written file under the name (and --force can replace anything). The file is created
  // owner-only before SQLite writes to it: a backup holds the signing keys too.
  const temp = `${dest}.partial-${process.pid}`;
  try {
    closeSync(openSync(temp, "wx", PRIVATE_FILE_MODE));
    const progress = await db.backup(temp);
    const check = new Database(temp);
    try {
      // The copy carries the live file's WAL mode; a backup is one self-contained file, and a
      // WAL-mode file grows -wal and -shm companions whenever it is opened.
      check.pragma("journal_mode = DELETE");
      const result = check.pragma("integrity_check", { simple: true });
      if (result !== "ok") throw new Error(`the backup failed its integrity check: ${String(result)}`);
    } finally {
      check.close();
    }
    renameSync(temp, dest);
    process.stdout.write(`Backed up ${source} to ${dest} (${progress.totalPages} pages, integrity ok).\n`);
  } catch (err) {
    for (const f of [temp, `${temp}-wal`, `${temp}-shm`, `${temp}-journal`]) rmSync(f, { force: true });
    throw new BackupError(`The backup to ${dest} failed: ${(err as Error).message}.`);
  } finally {
    db.close();
  }
}

/** A backup that could not be written; main prints it and exits 1. */
export class BackupError extends Error {
  override readonly name = "BackupError";
}
