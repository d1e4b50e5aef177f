import Database from "better-sqlite3";
import { SchemaTooNewError } from "../../core/ports/storage.js";
import { SCHEMA_VERSION } from "./migrations.js";

/** Where a SQLite file's schema stands against this build. */
export interface SqliteSchemaStatus {
  /** The file's schema version (PRAGMA user_version: the migrations applied). */
  current: number;
  /** The version this build writes. */
  latest: number;
}

/** Reads the schema version of the SQLite file at `path` without changing anything. */
export function sqliteSchemaStatus(path: string): SqliteSchemaStatus {
  // Read-write unless the file is read-only for us: a read-only connection to a WAL-mode file
  // leaves its -wal and -shm files behind when it closes, a read-write one removes them.
  let db: Database.Database;
  try {
    db = new Database(path, { fileMustExist: true });
  } catch {
    db = new Database(path, { readonly: true, fileMustExist: true });
  }
  try {
    return { current: db.pragma("user_version", { simple: true }) as number, latest: SCHEMA_VERSION };
  } finally {
    db.close();
  }
}

/** Throws SchemaTooNewError, naming the file, when its schema is newer than this build. */
export function refuseTooNew(status: SqliteSchemaStatus, path: string): void {
  if (status.current > status.latest) {
    throw new SchemaTooNewError(
      `The database ${path} has schema version ${status.current}, newer than this Tessera understands (${status.latest}); upgrade Tessera.`,
    );
  }
}
