import { SETTINGS, settingSource, settingValue, type RawSettings } from "../config.js";

/**
 * The database a local command works on, by the same rule as `tessera serve`'s --db (--db,
 * else TESSERA_DB, else the default), as an absolute path, and where it came from.
 */
export function databaseOption(db: string | undefined, env: NodeJS.ProcessEnv): { path: string; where: string } {
  const flags: RawSettings = db === undefined ? {} : { db };
  return { path: settingValue("db", flags, env), where: settingSource("db", flags, env) };
}

/** Help text of every --db option outside `tessera serve`. */
export const DB_HELP = `SQLite database file (env ${SETTINGS.db.env}; default ${SETTINGS.db.def}, relative to the working directory)`;
