import net from "node:net";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StorageUnavailableError } from "../../../src/core/ports/storage.js";
import { parseDatabaseUrl } from "../../../src/storage/postgres/connection.js";
import { storageError } from "../../../src/storage/postgres/errors.js";
import { Database } from "../../../src/storage/postgres/pool.js";
import { PostgresStorage } from "../../../src/storage/postgres/postgres-storage.js";
import { clientRecord } from "../../helpers/client-record.js";
import { eventually } from "../../helpers/eventually.js";
import { type TestDatabase, testPostgres } from "../../helpers/postgres.js";
import { tcpProxy } from "../../helpers/tcp-proxy.js";

const server = await testPostgres("PostgreSQL failure handling");
let db: TestDatabase;
const opened: { close(): Promise<void> }[] = [];
const track = <T extends { close(): Promise<void> }>(s: T): T => (opened.push(s), s);

/** The error `p` rejects with (the test fails if it resolves). */
async function failure(p: Promise<unknown>): Promise<Error> {
  const result = await p.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(result, "expected a rejection").toBeInstanceOf(Error);
  return result!;
}

/** Asserts that nothing a log line could print of `err` carries `secret`. */
function expectNoSecret(err: Error, secret: string): void {
  const cause = (err as { cause?: unknown }).cause;
  for (const text of [err.message, String(err), err.stack ?? "", JSON.stringify(err), JSON.stringify(cause ?? null), String(cause)]) {
    expect(text).not.toContain(secret);
  }
}

/** A TCP port nobody listens on. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

describe.skipIf(server === undefined)("PostgreSQL failures", () => {
  beforeAll(async () => {
    db = await server!.createDatabase();
  });
  afterAll(async () => {
    for (const s of opened.splice(0)) await s.close().catch(() => {});
    await db?.drop();
  });

  const withPassword = (password: string) => db.url.replace(`:${db.password}@`, `:${encodeURIComponent(password)}@`);

  it("nothing listening: StorageUnavailableError naming the URL with the password redacted", async () => {
    const port = await closedPort();
    const err = await failure(PostgresStorage.open(`postgres://tessera:Pa55-word-1@127.0.0.1:${port}/tessera`));
    expect(err).toBeInstanceOf(StorageUnavailableError);
    expect(err.message).toBe(
      `the database postgres://tessera:****@127.0.0.1:${port}/tessera is unavailable: connection refused: is PostgreSQL running and listening there?`,
    );
    expectNoSecret(err, "Pa55-word-1");
  });

  it("a wrong password, or none: StorageUnavailableError saying so, without the password", async () => {
    const wrong = await failure(PostgresStorage.open(withPassword("Wr0ng-Passw0rd")));
    expect(wrong).toBeInstanceOf(StorageUnavailableError);
    expect(wrong.message).toMatch(/password authentication failed for user "tessera_test_\w+" \(28P01\)$/);
    expectNoSecret(wrong, "Wr0ng-Passw0rd");
    const none = await failure(PostgresStorage.open(db.url.replace(`:${db.password}@`, "@")));
    expect(none.message).toMatch(/the server asks for a password and the database URL gives none$/);
  });

  it("a database that does not exist: StorageUnavailableError naming it", async () => {
    const err = await failure(PostgresStorage.open(db.url.replace(/\/[^/]*$/, "/no_such_database_here")));
    expect(err).toBeInstanceOf(StorageUnavailableError);
    expect(err.message).toMatch(/database "no_such_database_here" does not exist \(3D000\)$/);
    expectNoSecret(err, db.password);
  });

  it("sslmode=require against a server without TLS fails clearly; prefer (the default) falls back to plaintext", async () => {
    const required = await failure(PostgresStorage.open(`${db.url}?sslmode=require`));
    const ssl = await db.sql<{ ssl: string }>("SHOW ssl");
    if (ssl[0]!.ssl === "off") {
      expect(required).toBeInstanceOf(StorageUnavailableError);
      expect(required.message).toMatch(/is unavailable: The server does not support SSL connections$/);
    }
    const preferred = new Database(parseDatabaseUrl(db.url));
    try {
      const { rows } = await preferred.query<{ ssl: boolean }>("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
      expect(rows[0]!.ssl).toBe(ssl[0]!.ssl === "on");
      expect(preferred.usesTls).toBe(ssl[0]!.ssl === "on");
    } finally {
      await preferred.end();
    }
  });

  it("the server closing idle connections (as on shutdown, 57P01) is reported, never crashes, and the next call reconnects", async () => {
    const lost: string[] = [];
    const storage = track(await PostgresStorage.open(db.url, { poolSize: 3, onConnectionLost: (r) => lost.push(r) }));
    // Three idle connections in the pool.
    await Promise.all([storage.getClient("a"), storage.getClient("b"), storage.getClient("c")]);
    const killed = await db.sql<{ n: number }>(
      "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tessera'",
    );
    expect(killed[0]!.n).toBeGreaterThan(0);
    await eventually("every killed connection reported", () => lost.length >= killed[0]!.n);
    expect(lost[0]).toBe("the server is shutting down (57P01)");
    await storage.createClient(client("after"));
    expect((await storage.getClient("after"))?.clientId).toBe("after");
  });

  /** A connection of the test's own holding the store's write lock until `release()`. */
  async function holdWriteLock(url = db.url): Promise<{ release(): Promise<void> }> {
    const blocker = new pg.Client({ ...parseDatabaseUrl(url).config, ssl: false, application_name: "blocker" });
    blocker.on("error", () => {});
    await blocker.connect();
    await blocker.query("BEGIN; SELECT * FROM change_counter FOR UPDATE");
    return { release: () => blocker.query("ROLLBACK").then(() => blocker.end()) };
  }

  it("a write whose connection the server ends before COMMIT runs again on a fresh connection, and applies once", async () => {
    const storage = track(await PostgresStorage.open(db.url, { onConnectionLost: () => {} }));
    const before = await storage.changeToken();
    const lock = await holdWriteLock();
    const write = storage.setMeta("retried", "yes", true);
    await eventually("the write waiting for the lock", async () => (await waitingWriters()).length === 1);
    const [first] = await waitingWriters();
    await db.sql("SELECT pg_terminate_backend($1)", [first]);
    // The retry waits for the lock again, on another connection.
    await eventually("the retried write waiting", async () => (await waitingWriters()).some((pid) => pid !== first));
    await lock.release();
    expect(await write).toBe(true);
    expect(await storage.getMeta("retried")).toBe("yes");
    expect(await storage.changeToken()).toBe(before + 1);
  });

  it("the database unreachable mid-write: StorageUnavailableError for writes and reads; back again, all works without reopening", async () => {
    const proxy = await tcpProxy(db.port);
    track(proxy);
    const url = db.url.replace(`:${db.port}/`, `:${proxy.port}/`);
    const storage = track(await PostgresStorage.open(url, { onConnectionLost: () => {} }));
    await storage.createClient(client("before"));
    const lock = await holdWriteLock();
    const write = storage.createClient(client("during"));
    await eventually("the write waiting for the lock", async () => (await waitingWriters()).length === 1);
    await proxy.cut();
    const err = await failure(write);
    expect(err).toBeInstanceOf(StorageUnavailableError);
    expect(err.message).toBe(
      `the database ${url.replace(db.password, "****")} is unavailable: connection refused: is PostgreSQL running and listening there?`,
    );
    const read = await failure(storage.getClient("before"));
    expect(read).toBeInstanceOf(StorageUnavailableError);
    await lock.release();
    await proxy.restore();
    expect((await storage.getClient("before"))?.clientId).toBe("before");
    // The write that failed was not applied; doing it again works.
    expect(await storage.getClient("during")).toBeUndefined();
    await storage.createClient(client("during"));
    expect((await storage.getClient("during"))?.clientId).toBe("during");
  });

  it("a write stuck behind a lock past the statement timeout: StorageUnavailableError, not a hang", async () => {
    const storage = track(await PostgresStorage.open(db.url, { statementTimeoutMs: 300 }));
    const lock = await holdWriteLock();
    try {
      const err = await failure(storage.setMeta("k", "v", true));
      expect(err).toBeInstanceOf(StorageUnavailableError);
      expect(err.message).toMatch(/canceling statement due to statement timeout \(57014\)$/);
    } finally {
      await lock.release();
    }
  });

  it("a read-only server (25006): writes fail with StorageUnavailableError, reads keep working", async () => {
    const other = await server!.createDatabase();
    try {
      const seeded = await PostgresStorage.open(other.url);
      await seeded.createClient(client("kept"));
      await seeded.close();
      await other.sql(`ALTER DATABASE ${other.name} SET default_transaction_read_only = on`);
      const storage = track(await PostgresStorage.open(other.url));
      const err = await failure(storage.createClient(client("new")));
      expect(err).toBeInstanceOf(StorageUnavailableError);
      expect(err.message).toMatch(/the server is read-only \(25006\)/);
      expect((await storage.getClient("kept"))?.clientId).toBe("kept");
      await storage.close();
    } finally {
      await other.drop();
    }
  });

  it("a full disk (53100), which cannot be caused here, maps to StorageUnavailableError too", () => {
    const full = Object.assign(new Error("could not extend file: No space left on device"), { code: "53100" });
    const err = storageError(full, "postgres://u:****@h/d") as Error;
    expect(err).toBeInstanceOf(StorageUnavailableError);
    expect(err.message).toBe("the database postgres://u:****@h/d is unavailable: the server's disk is full (53100)");
    // Errors about the request itself pass through unchanged.
    const constraint = Object.assign(new Error("duplicate key"), { code: "23505" });
    expect(storageError(constraint, "x")).toBe(constraint);
  });

  it("a value beyond JavaScript's exact integers is refused loudly, never rounded", async () => {
    const schema = await db.freshSchema();
    const storage = track(await PostgresStorage.open(schema.url));
    await storage.createClient(client("big"));
    await db.sql(`UPDATE ${schema.name}.clients SET update_time = 9007199254740993`);
    await expect(storage.getClient("big")).rejects.toThrow(/9007199254740993 is beyond JavaScript's exact integers/);
  });

  /** Backend pids of the adapter's connections waiting for a lock. */
  async function waitingWriters(): Promise<number[]> {
    const rows = await db.sql<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tessera' AND wait_event_type = 'Lock'",
    );
    return rows.map((r) => r.pid);
  }
});

function client(clientId: string) {
  return clientRecord(clientId, {
    tokenTtlSeconds: 60,
    createTime: 1,
    updateTime: 1,
    secrets: [{ secretId: `sec_${clientId}`, hash: new Uint8Array(32), createTime: 1, expireTime: null, lastUsedTime: null }],
  });
}
