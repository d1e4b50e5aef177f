// A PostgreSQL server for the benchmark's PostgreSQL rows: throwaway databases of their own,
// dropped at the end, on TESSERA_TEST_PG_URL (a role with CREATEDB, as CI sets it) or, as root,
// on the local server through the postgres superuser (`su postgres -c psql`).
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import pg from "pg";

/**
 * Databases the benchmark may create and drop.
 * @typedef {object} BenchPostgres
 * @property {string} how which access was used, for the report
 * @property {() => Promise<string>} create a new empty database; resolves with its URL
 * @property {() => Promise<void>} dropAll drops every database `create` made (and the role, as root)
 */

/**
 * Finds a PostgreSQL server, or says why there is none.
 * @returns {Promise<BenchPostgres | { na: string }>}
 */
export async function benchPostgres() {
  const url = process.env.TESSERA_TEST_PG_URL;
  if (url) return viaUrl(url);
  if (process.getuid?.() !== 0) return { na: "TESSERA_TEST_PG_URL is not set and this is not root" };
  if (!existsSync("/usr/bin/psql")) return { na: "psql is not installed (apt-get install postgresql)" };
  return viaSuperuser();
}

/**
 * Databases owned by the role of `url` (it needs CREATEDB).
 * @param {string} url
 * @returns {Promise<BenchPostgres | { na: string }>}
 */
async function viaUrl(url) {
  /** @param {string} sql */
  const run = async (sql) => {
    const c = new pg.Client({ connectionString: url, ssl: false });
    c.on("error", () => {});
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  try {
    await run("SELECT 1");
  } catch (err) {
    return { na: `TESSERA_TEST_PG_URL cannot be used: ${err instanceof Error ? err.message : String(err)}` };
  }
  /** @type {string[]} */
  const made = [];
  return {
    how: "TESSERA_TEST_PG_URL",
    async create() {
      const name = `tessera_bench_${randomBytes(4).toString("hex")}`;
      await run(`CREATE DATABASE ${name}`);
      made.push(name);
      const u = new URL(url);
      u.pathname = `/${name}`;
      return u.toString();
    },
    async dropAll() {
      for (const name of made) await run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
    },
  };
}

/**
 * As root: a login role with a password of its own and databases it owns, on 127.0.0.1:5432.
 * @returns {Promise<BenchPostgres | { na: string }>}
 */
async function viaSuperuser() {
  /** @param {string} sql */
  const psql = (sql) =>
    execFileSync("su", ["postgres", "-c", "psql -X -q -At -v ON_ERROR_STOP=1"], {
      input: `${sql}\n`,
      encoding: "utf8",
      timeout: 30_000,
      stdio: ["pipe", "pipe", "pipe"],
    });
  const role = `tessera_bench_${randomBytes(4).toString("hex")}`;
  const password = randomBytes(12).toString("hex");
  try {
    psql(`CREATE ROLE ${role} LOGIN PASSWORD '${password}';`);
  } catch (err) {
    return { na: `the local PostgreSQL cannot be used as root: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}` };
  }
  /** @type {string[]} */
  const made = [];
  return {
    how: "the local server (127.0.0.1:5432) as the postgres superuser",
    async create() {
      const name = `${role}_${made.length}`;
      psql(`CREATE DATABASE ${name} OWNER ${role};`);
      made.push(name);
      return `postgres://${role}:${password}@127.0.0.1:5432/${name}?sslmode=disable`;
    },
    async dropAll() {
      for (const name of made) {
        try {
          psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE);`);
        } catch {
          // Left behind: the name says whose it is.
        }
      }
      try {
        psql(`DROP ROLE IF EXISTS ${role};`);
      } catch {
        // As above.
      }
    },
  };
}
