import { parseDatabaseUrl } from "../storage/postgres/connection.js";
import { checkSchema, type MigrationStatus, migrate, migrationStatus } from "../storage/postgres/migrations.js";
import { Database } from "../storage/postgres/pool.js";
import { refuseTooNew, sqliteSchemaStatus } from "../storage/sqlite/schema-status.js";
import { SqliteStorage } from "../storage/sqlite/sqlite-storage.js";
import { type DatabaseChoice, databaseOption, refuseMissingFile } from "./database-option.js";

/** Options of `tessera migrate status` and `tessera migrate up`. */
export interface MigrateOptions {
  db?: string;
  json?: boolean;
}

/** One database's schema against this build, as `migrate status` prints it. */
interface SchemaReport {
  database: string;
  current: number;
  latest: number;
  applied: { version: number; name?: string; applied_at?: string }[];
  pending: { version: number; name?: string }[];
}

/**
 * `tessera migrate status`: the database's schema version, this build's, the migrations applied
 * (with their dates, on PostgreSQL) and those pending. Changes nothing. A schema newer than this
 * build is printed, then refused (exit 2), as `tessera serve` would refuse it.
 */
export async function migrateStatusCommand(o: MigrateOptions, env: NodeJS.ProcessEnv): Promise<void> {
  const choice = databaseOption(o.db, env);
  const report = choice.kind === "postgres" ? await postgresReport(choice) : await sqliteReport(choice);
  process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : describe(report));
  if (report.current > report.latest) {
    if (choice.kind === "sqlite") refuseTooNew(report, choice.shown);
    checkSchema({ current: report.current, latest: report.latest, applied: [], pending: [] }, choice.shown);
  }
}

/**
 * `tessera migrate up`: applies the pending migrations, for operators who migrate in a job of
 * their own before starting (or upgrading) the replicas. Of several runs at once, one applies
 * them and the others find nothing to do. Refuses a schema newer than this build, changing nothing.
 */
export async function migrateUpCommand(o: MigrateOptions, env: NodeJS.ProcessEnv): Promise<void> {
  const choice = databaseOption(o.db, env);
  let from: number;
  let to: number;
  if (choice.kind === "postgres") {
    ({ from, to } = await withDatabase(choice, migrate));
  } else {
    refuseMissingFile(choice);
    const before = sqliteSchemaStatus(choice.db);
    refuseTooNew(before, choice.shown);
    // Opening migrates (one transaction per migration, under SQLite's write lock).
    await SqliteStorage.open(choice.db).close();
    ({ current: from } = before);
    to = sqliteSchemaStatus(choice.db).current;
  }
  process.stdout.write(
    from === to
      ? `${choice.shown} is at schema version ${to}, this Tessera's: nothing to do.\n`
      : `Migrated ${choice.shown} from schema version ${from} to ${to}.\n`,
  );
}

async function postgresReport(choice: DatabaseChoice): Promise<SchemaReport> {
  const status: MigrationStatus = await withDatabase(choice, migrationStatus);
  return {
    database: choice.shown,
    current: status.current,
    latest: status.latest,
    applied: status.applied.map((m) => ({ version: m.version, name: m.name, applied_at: m.appliedAt.toISOString() })),
    pending: status.pending,
  };
}

async function sqliteReport(choice: DatabaseChoice): Promise<SchemaReport> {
  // Refuses a missing file, rather than creating one to report on.
  refuseMissingFile(choice);
  const { current, latest } = sqliteSchemaStatus(choice.db);
  const range = (a: number, b: number) => Array.from({ length: Math.max(0, b - a) }, (_, i) => ({ version: a + i + 1 }));
  return { database: choice.shown, current, latest, applied: range(0, Math.min(current, latest)), pending: range(current, latest) };
}

async function withDatabase<T>(choice: DatabaseChoice, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = new Database(parseDatabaseUrl(choice.db));
  try {
    return await fn(db);
  } finally {
    await db.end();
  }
}

function describe(r: SchemaReport): string {
  const lines = [`${r.database}: schema version ${r.current}; this Tessera writes version ${r.latest}.`];
  for (const m of r.applied)
    lines.push(`  applied  ${m.version}${m.name ? `  ${m.name}` : ""}${m.applied_at ? `  (${m.applied_at})` : ""}`);
  for (const m of r.pending) lines.push(`  pending  ${m.version}${m.name ? `  ${m.name}` : ""}`);
  if (r.current > r.latest) lines.push("The schema is newer than this Tessera understands: upgrade Tessera.");
  else if (r.pending.length > 0)
    lines.push("Run `tessera migrate up` to apply the pending migrations (tessera serve also applies them when it starts).");
  else lines.push("Up to date.");
  return `${lines.join("\n")}\n`;
}
