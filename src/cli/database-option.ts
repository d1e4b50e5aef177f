import { resolve } from "node:path";
import { DEFAULT_DB_PATH, settingFromEnv } from "../config.js";

/** The database a local command works on (--db, else TESSERA_DB, else the default), as an absolute path, and where it came from. */
export function databaseOption(db: string | undefined, env: NodeJS.ProcessEnv): { path: string; where: string } {
  if (db !== undefined) return { path: resolve(db), where: "--db" };
  const fromEnv = settingFromEnv("db", env);
  if (fromEnv) return { path: resolve(fromEnv.value), where: fromEnv.name };
  return { path: resolve(DEFAULT_DB_PATH), where: `the default, ${DEFAULT_DB_PATH} in the working directory` };
}

/** Help text of every --db option outside `tessera serve`. */
export const DB_HELP = `SQLite database file (env TESSERA_DB; default ${DEFAULT_DB_PATH}, relative to the working directory)`;
