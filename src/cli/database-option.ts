import { existsSync } from "node:fs";
import { databaseWhere, type OpenedDatabase, type OpenOptions, openDatabase } from "../compose/storage.js";
import { type RawSettings, SETTINGS, settingSource, settingValue } from "../config.js";
import { isPostgresUrl } from "../storage/postgres/connection.js";
import { UsageError } from "./usage.js";

/** The database a local command works on, and how messages name it. */
export interface DatabaseChoice {
  /** An absolute SQLite path or a postgres:// URL (with its password: never print it). */
  readonly db: string;
  readonly kind: "sqlite" | "postgres";
  /** The path, or the URL with its password redacted. */
  readonly shown: string;
  /** The setting it came from: `--db`, TESSERA_DB, DATABASE_URL or the default. */
  readonly source: string;
}

/**
 * The database a local command works on, by the same rule as `tessera serve`'s --db (--db,
 * else TESSERA_DB, else DATABASE_URL, else the default): an absolute SQLite path or a
 * PostgreSQL URL, and where it came from.
 */
export function databaseOption(db: string | undefined, env: NodeJS.ProcessEnv, flag = "--db"): DatabaseChoice {
  const flags: RawSettings = db === undefined ? {} : { db };
  const named = (where: string) => (where === "--db" ? flag : where);
  // The setting's own checks, with messages naming the flag this command calls it by.
  let value: string;
  try {
    value = settingValue("db", flags, env);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith("--db ")) err.message = flag + err.message.slice(4);
    throw err;
  }
  return {
    db: value,
    kind: isPostgresUrl(value) ? "postgres" : "sqlite",
    shown: databaseWhere(value),
    source: named(settingSource("db", flags, env)),
  };
}

/**
 * Opens the database of a command that works on an existing one: a SQLite file that does not
 * exist is refused (opening would create an empty database nobody uses), a PostgreSQL database
 * is opened and migrated as `tessera serve` would.
 */
export async function openExistingDatabase(choice: DatabaseChoice, options: OpenOptions = {}): Promise<OpenedDatabase> {
  refuseMissingFile(choice);
  return openDatabase(choice.db, { notify: false, ...options });
}

/** Throws a UsageError when `choice` is a SQLite file that does not exist. */
export function refuseMissingFile(choice: DatabaseChoice): void {
  if (choice.kind === "sqlite" && !existsSync(choice.db)) {
    const how = choice.source === "--from" ? "--from" : "--db or TESSERA_DB";
    throw new UsageError(`There is no database at ${choice.db} (from ${choice.source}); give its path or URL with ${how}.`);
  }
}

/** Help text of every --db option outside `tessera serve`. */
export const DB_HELP = `SQLite database file or postgres:// URL (env ${SETTINGS.db.env} or ${SETTINGS.db.envAlias}; default ${SETTINGS.db.def}, relative to the working directory)`;
