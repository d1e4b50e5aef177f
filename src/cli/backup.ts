import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { UsageError } from "./usage.js";

/**
 * `tessera backup FILE`: a consistent copy of the live database through SQLite's online backup
 * API, safe while servers are running and writing.
 */
export async function backupCommand(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { db: { type: "string" }, force: { type: "boolean", default: false } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError("tessera backup takes exactly one destination file.");
  const dest = positionals[0]!;
  const source = values.db ?? env.TESSERA_DB ?? "./data/tessera.db";
  if (!existsSync(source)) throw new UsageError(`There is no database at ${source}; pass --db.`);
  if (existsSync(dest) && !values.force) throw new UsageError(`${dest} exists; choose another file or pass --force.`);
  const db = new Database(source, { readonly: true, fileMustExist: true });
  try {
    const progress = await db.backup(dest);
    const check = new Database(dest, { readonly: true });
    try {
      const result = check.pragma("integrity_check", { simple: true });
      if (result !== "ok") throw new Error(`the backup failed its integrity check: ${String(result)}`);
    } finally {
      check.close();
    }
    process.stdout.write(`Backed up ${source} to ${dest} (${progress.totalPages} pages, integrity ok).\n`);
  } finally {
    db.close();
  }
}
