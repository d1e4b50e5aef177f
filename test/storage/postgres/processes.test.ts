import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POSTGRES_SCHEMA_VERSION } from "../../../src/storage/postgres/migrations.js";
import { PostgresStorage } from "../../../src/storage/postgres/postgres-storage.js";
import { testPostgres, type TestDatabase } from "../../helpers/postgres.js";

const server = await testPostgres("PostgreSQL shared by several processes");
let db: TestDatabase;

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const MODULE = fileURLToPath(new URL("../../../src/storage/postgres/postgres-storage.ts", import.meta.url));
const KEY_RING = fileURLToPath(new URL("../../../src/keys/key-ring.ts", import.meta.url));

/** Runs `code` (an ES module body) in `n` Node processes that start their work at the same instant. */
async function inProcesses(n: number, code: string, env: Record<string, string>): Promise<string[]> {
  const run = promisify(execFile);
  const startAt = String(Date.now() + 3000);
  const children = Array.from({ length: n }, (_, i) =>
    run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
      cwd: REPO,
      env: { ...process.env, ...env, START_AT: startAt, CHILD: String(i) },
      timeout: 30_000,
    }),
  );
  return (await Promise.all(children)).map((r) => r.stdout.trim());
}

describe.skipIf(server === undefined)("PostgreSQL shared by several processes", () => {
  beforeAll(async () => {
    db = await server!.createDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("five processes starting at once on an empty database end with one schema and one current key, which all of them sign with", async () => {
    const code = `
      const { PostgresStorage } = await import(process.env.MODULE);
      const { KeyRing } = await import(process.env.KEY_RING);
      while (Date.now() < Number(process.env.START_AT)) {}
      const storage = await PostgresStorage.open(process.env.DB);
      const policy = { alg: "ES256", rotationPeriodMs: 30 * 86400000, prepublishMs: 1800000, retiredPublishMs: 86700000 };
      const ring = await KeyRing.open(storage, { policy, clock: () => Date.now() });
      console.log(ring.current.kid);
      await storage.close();
    `;
    const kids = await inProcesses(5, code, { MODULE, KEY_RING, DB: db.url });
    expect(new Set(kids).size).toBe(1);
    const storage = await PostgresStorage.open(db.url);
    try {
      const keys = await storage.listSigningKeys();
      expect(keys.filter((k) => k.status === "current").map((k) => k.kid)).toEqual([kids[0]]);
      expect(keys.map((k) => k.status).sort()).toEqual(["current", "next"]);
    } finally {
      await storage.close();
    }
    expect(await db.sql("SELECT version FROM schema_migrations ORDER BY version")).toEqual(
      Array.from({ length: POSTGRES_SCHEMA_VERSION }, (_, i) => ({ version: i + 1 })),
    );
  }, 60_000);
});
