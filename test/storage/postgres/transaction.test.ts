import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StorageUnavailableError } from "../../../src/core/ports/storage.js";
import { parseDatabaseUrl } from "../../../src/storage/postgres/connection.js";
import { migrate } from "../../../src/storage/postgres/migrations.js";
import { Database } from "../../../src/storage/postgres/pool.js";
import { PostgresStorage } from "../../../src/storage/postgres/postgres-storage.js";
import { CHANGE_CHANNEL, MAX_ATTEMPTS, writeTransaction } from "../../../src/storage/postgres/transaction.js";
import { eventually } from "../../helpers/eventually.js";
import { type TestDatabase, testPostgres } from "../../helpers/postgres.js";

const server = await testPostgres("PostgreSQL write transactions");
let db: TestDatabase;
let database: Database;

/** A real server error with the given SQLSTATE, raised by PL/pgSQL. */
const raise = (sqlstate: string) => `DO $$ BEGIN RAISE EXCEPTION 'raised by the test' USING ERRCODE = '${sqlstate}'; END $$`;

describe.skipIf(server === undefined)("PostgreSQL write transactions", () => {
  beforeAll(async () => {
    db = await server!.createDatabase();
    database = new Database(parseDatabaseUrl(db.url));
    await migrate(database);
  });
  afterAll(async () => {
    await database?.end();
    await db?.drop();
  });

  const counter = async () => Number((await db.sql<{ value: string }>("SELECT value FROM change_counter"))[0]!.value);

  it.each([
    ["serialization failure", "40001"],
    ["deadlock", "40P01"],
  ])("a %s (%s) is retried and the caller sees only the result; the change is applied once", async (_, sqlstate) => {
    const before = await counter();
    let attempts = 0;
    const result = await writeTransaction(database, async (q) => {
      attempts++;
      await q("INSERT INTO meta (key, value) VALUES ($1, $2)", [`retried-${sqlstate}`, String(attempts)]);
      if (attempts < 3) await q(raise(sqlstate));
      return { value: "done", changed: true };
    });
    expect(result).toBe("done");
    expect(attempts).toBe(3);
    expect(await db.sql("SELECT value FROM meta WHERE key = $1", [`retried-${sqlstate}`])).toEqual([{ value: "3" }]);
    expect(await counter()).toBe(before + 1);
  });

  it(`conflicts that go on past ${MAX_ATTEMPTS} attempts end as StorageUnavailableError, never a raw database error`, async () => {
    let attempts = 0;
    const err = await writeTransaction(database, async (q) => {
      attempts++;
      await q(raise("40001"));
      return { value: undefined, changed: true };
    }).then(
      () => new Error("resolved"),
      (e: unknown) => e as Error,
    );
    expect(attempts).toBe(MAX_ATTEMPTS);
    expect(err).toBeInstanceOf(StorageUnavailableError);
    expect(err.message).toMatch(/kept reporting conflicts \(40001\) after 5 attempts$/);
    expect(err.message).not.toContain(db.password);
  });

  it("other errors are not retried and reach the caller unchanged, with nothing applied", async () => {
    let attempts = 0;
    const before = await counter();
    const err = await writeTransaction(database, async (q) => {
      attempts++;
      await q("INSERT INTO meta (key, value) VALUES ('half', 'done')");
      await q(raise("22023"));
      return { value: undefined, changed: true };
    }).catch((e: unknown) => e as Error);
    expect(attempts).toBe(1);
    expect((err as { code?: string }).code).toBe("22023");
    expect(await db.sql("SELECT * FROM meta WHERE key = 'half'")).toEqual([]);
    expect(await counter()).toBe(before);
  });

  it("each committed change bumps the counter once and NOTIFYs its new value on commit; changes of nothing do neither", async () => {
    const storage = await PostgresStorage.open(db.url);
    const listener = new pg.Client({ ...parseDatabaseUrl(db.url).config, ssl: false, application_name: "listener" });
    listener.on("error", () => {});
    await listener.connect();
    const heard: number[] = [];
    listener.on("notification", (n) => n.channel === CHANGE_CHANNEL && heard.push(Number(n.payload)));
    await listener.query(`LISTEN ${CHANGE_CHANNEL}`);
    try {
      const start = await storage.changeToken();
      // None of these changes anything: no bump, no notification.
      expect(await storage.deleteClient("ghost")).toBe(false);
      expect(await storage.updateClient("ghost", { name: "x" }, 1)).toBeUndefined();
      expect(await storage.pruneRevokedTokens(0)).toBe(0);
      await storage.updateSigningKeys(() => ({ upsert: [], remove: ["none"], result: undefined }));
      expect(await storage.changeToken()).toBe(start);

      await storage.setMeta("issuer", "https://a", false);
      expect(await storage.setMeta("issuer", "https://b", false)).toBe(false); // unchanged
      await storage.revokeToken("j1", "c1", Date.now() + 60_000);
      await storage.revokeToken("j1", "c1", Date.now() + 60_000); // already there
      expect(await storage.changeToken()).toBe(start + 2);
      await eventually("two notifications", () => heard.length >= 2);
      expect(heard).toEqual([start + 1, start + 2]);

      // Last-used times matter to no cache: recording them moves nothing.
      await storage.recordSecretUse(new Map([["s", 1]]));
      expect(await storage.changeToken()).toBe(start + 2);
    } finally {
      await listener.end();
      await storage.close();
    }
  });

  it("writes queue behind one another in one instance and use one connection, however many are waiting", async () => {
    const storage = await PostgresStorage.open(`${db.url}?application_name=queued`, { poolSize: 5 });
    try {
      const order: number[] = [];
      await Promise.all(Array.from({ length: 20 }, (_, i) => storage.setMeta(`q${i}`, String(i), true).then(() => order.push(i))));
      expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
      const connections = await db.sql<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'queued'",
      );
      // The migration check and the queued writes each took the same idle connection again.
      expect(connections[0]!.n).toBe(1);
    } finally {
      await storage.close();
    }
  });
});
