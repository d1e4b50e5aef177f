import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import pg from "pg";
import { parseDatabaseUrl } from "../../src/storage/postgres/connection.js";

/** Runs SQL statements one at a time as a role that may create roles and databases. */
type AdminRunner = (statements: string[]) => Promise<string[]>;

/** A throwaway login role and database of its own on the test server, dropped by `drop()`. */
export interface TestDatabase {
  /** postgres://role:password@host:port/database (no sslmode: libpq's default, prefer). */
  readonly url: string;
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly password: string;
  /** The URL of a new, empty schema in the database (search_path set through `options`). */
  freshSchema(): Promise<{ name: string; url: string; drop(): Promise<void> }>;
  /** Runs one statement as the database's own role. */
  sql<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[], url?: string): Promise<R[]>;
  /** Drops the database (closing its connections) and the role. */
  drop(): Promise<void>;
}

/** A PostgreSQL server the tests may create roles and databases on. */
export interface TestPostgres {
  /** Which access was used, for messages. */
  readonly how: string;
  createDatabase(): Promise<TestDatabase>;
}

/**
 * Finds a PostgreSQL server for the tests: TESSERA_TEST_PG_URL (a role with CREATEDB and
 * CREATEROLE), or else, as root, the postgres superuser over the local socket (`su postgres -c
 * psql`). Returns undefined after printing "SKIPPED <suite>: <why>" when there is none; throws
 * instead when TESSERA_REQUIRE_PG=1 (CI), so that the suites never go missing silently there.
 */
export async function testPostgres(suite: string): Promise<TestPostgres | undefined> {
  const found = await findAdmin();
  if ("admin" in found) return found.admin;
  if (process.env.TESSERA_REQUIRE_PG === "1") {
    throw new Error(`${suite}: PostgreSQL is required (TESSERA_REQUIRE_PG=1) but ${found.reason}`);
  }
  console.log(`SKIPPED ${suite}: ${found.reason} (set TESSERA_TEST_PG_URL, or run as root with PostgreSQL on the local socket)`);
  return undefined;
}

async function findAdmin(): Promise<{ admin: TestPostgres } | { reason: string }> {
  const url = process.env.TESSERA_TEST_PG_URL;
  if (url) {
    const { config } = parseDatabaseUrl(url);
    const runner: AdminRunner = async (statements) => {
      const client = new pg.Client({ ...config, ssl: false });
      client.on("error", () => {});
      await client.connect();
      try {
        const out: string[] = [];
        for (const s of statements) {
          const row = (await client.query(s)).rows[0] as Record<string, unknown> | undefined;
          out.push(row ? String(Object.values(row)[0]) : "");
        }
        return out;
      } finally {
        await client.end();
      }
    };
    try {
      await runner(["SELECT 1"]);
    } catch (err) {
      return { reason: `TESSERA_TEST_PG_URL cannot be used: ${(err as Error).message}` };
    }
    return { admin: admin(runner, "TESSERA_TEST_PG_URL", config.host ?? "127.0.0.1", config.port ?? 5432) };
  }
  if (process.getuid?.() !== 0) return { reason: "TESSERA_TEST_PG_URL is not set and this is not root" };
  if (!existsSync("/usr/bin/psql")) return { reason: "psql is not installed (apt-get install postgresql)" };
  const runner: AdminRunner = async (statements) => {
    // One psql per call, each statement on its own line: CREATE DATABASE refuses a transaction block.
    const child = execFile("su", ["postgres", "-c", "psql -X -q -At -v ON_ERROR_STOP=1"], { timeout: 30_000 });
    child.stdin!.end(statements.map((s) => `${s};\n`).join(""));
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d));
    child.stderr!.on("data", (d: Buffer) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    if (code !== 0) throw new Error(`psql as postgres failed: ${stderr.trim() || `exit ${code}`}`);
    return stdout.trim().split("\n");
  };
  let port: number;
  try {
    const [p] = await runner(["SHOW port"]);
    port = Number(p);
  } catch (err) {
    return { reason: `no PostgreSQL on the local socket: ${(err as Error).message.split("\n")[0]}` };
  }
  return { admin: admin(runner, "su postgres -c psql", "127.0.0.1", port) };
}

function admin(runner: AdminRunner, how: string, host: string, port: number): TestPostgres {
  return {
    how,
    async createDatabase() {
      // Unique per process and call; the pid helps find what a killed run left behind.
      const name = `tessera_test_${process.pid}_${randomBytes(4).toString("hex")}`;
      const password = randomBytes(18).toString("base64url");
      await runner([
        `CREATE ROLE ${name} LOGIN PASSWORD '${password}'`,
        // A CREATEROLE admin (not superuser) must be a member to give the role a database.
        `GRANT ${name} TO CURRENT_USER`,
        `CREATE DATABASE ${name} OWNER ${name}`,
      ]);
      const url = `postgres://${name}:${password}@${host}:${port}/${name}`;
      const sql = async <R extends pg.QueryResultRow>(text: string, values?: unknown[], at = url): Promise<R[]> => {
        // Named apart from the adapter's connections ("tessera"), which tests look for and kill.
        const client = new pg.Client({ ...parseDatabaseUrl(at).config, ssl: false, application_name: "tessera-test-helper" });
        client.on("error", () => {});
        await client.connect();
        try {
          return (await client.query<R>(text, values)).rows;
        } finally {
          await client.end();
        }
      };
      let schemas = 0;
      return {
        url,
        name,
        host,
        port,
        password,
        sql,
        async freshSchema() {
          const schema = `s${++schemas}`;
          await sql(`CREATE SCHEMA ${schema}`);
          return {
            name: schema,
            url: `${url}?options=${encodeURIComponent(`-c search_path=${schema}`)}`,
            drop: async () => void (await sql(`DROP SCHEMA ${schema} CASCADE`)),
          };
        },
        async drop() {
          await runner([`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`, `DROP ROLE IF EXISTS ${name}`]);
        },
      };
    },
  };
}
