import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POSTGRES_SCHEMA_VERSION } from "../../../src/storage/postgres/migrations.js";
import { PostgresStorage } from "../../../src/storage/postgres/postgres-storage.js";
import { type TestDatabase, testPostgres } from "../../helpers/postgres.js";
import { inProcesses } from "../../helpers/tessera-process.js";

const server = await testPostgres("PostgreSQL shared by several processes");
let db: TestDatabase;

const MODULE = fileURLToPath(new URL("../../../src/storage/postgres/postgres-storage.ts", import.meta.url));
const KEY_RING = fileURLToPath(new URL("../../../src/keys/key-ring.ts", import.meta.url));

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
      await atTheStart();
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
