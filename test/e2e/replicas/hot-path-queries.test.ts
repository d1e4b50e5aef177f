import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SECRET_USE_FLUSH_MS, SHARED_LIMITS_SYNC_MS } from "../../../src/compose/background.js";
import { CHANGE_POLL_MS } from "../../../src/storage/change-feed.js";
import { eventually } from "../../helpers/eventually.js";
import { type PgStatement, type PgWireLog, pgWireLog } from "../../helpers/pg-wire-log.js";
import { type TestDatabase, testPostgres } from "../../helpers/postgres.js";
import { adminAuth, bootstrapCluster, createClientAt, type Replica, startReplica, tokenAt } from "../../helpers/replicas.js";
import type { Credentials } from "../../helpers/tessera-process.js";

const server = await testPostgres("queries sent while issuing tokens");

const TOKENS = 1000;
const PARALLEL = 10;

/** Issues `n` tokens to `c` at `r`, `PARALLEL` at a time; every one must be granted. */
async function issue(r: Replica, c: Credentials, n: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (next++ < n) {
        const res = await tokenAt(r, c);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
      }
    }),
  );
}

/** The statements of `window` per connection role and text, for the report. */
function summary(window: PgStatement[]): string {
  const counts = new Map<string, number>();
  for (const s of window) {
    const key = `${s.application}: ${s.sql.replace(/\s+/g, " ").slice(0, 90)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${String(n).padStart(5)}  ${k}`).join("\n") || "(none)";
}

// The statements are counted on the wire, by a proxy that reads the PostgreSQL protocol between
// the server and the database: it sees every statement whichever code path sends it (the pool,
// the change connection, a driver's own), needs no extension (pg_stat_statements) and no
// superuser setting (log_statement), and tells the connections apart by application_name.
describe.skipIf(server === undefined)("queries a replica sends while it issues tokens for a cached client", () => {
  let db: TestDatabase;
  let proxy: PgWireLog;
  let replica: Replica;
  let client: Credentials;

  beforeAll(async () => {
    db = await server!.createDatabase();
    proxy = await pgWireLog(db.port);
    const url = new URL(db.url);
    url.hostname = "127.0.0.1";
    url.port = String(proxy.port);
    url.searchParams.set("sslmode", "disable");
    replica = await startReplica("A", url.toString());
    const admin = await bootstrapCluster(db.url);
    client = await createClientAt(replica, await adminAuth(replica, admin), { name: "busy", scopes: ["read"] });
    // The change feed empties the cache when it sees the counter move (this write moved it too):
    // two polls after the write, the second sent once the first was answered, it has seen it.
    const written = proxy.statements.length;
    await eventually(
      "two change polls",
      () =>
        proxy.statements.slice(written).filter((s) => s.application === "tessera changes" && /FROM change_counter/.test(s.sql)).length >= 2,
    );
    // Cached now, and its secret's last use recorded in memory.
    expect((await tokenAt(replica, client)).status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await replica?.close();
    await proxy?.close();
    await db?.drop();
  });

  it(`${TOKENS} tokens: no statement reads a client or writes anything; only the timed background polls run`, async () => {
    const from = proxy.statements.length;
    const started = performance.now();
    await issue(replica, client, TOKENS);
    const elapsed = performance.now() - started;
    const window = proxy.statements.slice(from).filter((s) => s.at <= started + elapsed);
    console.log(`QUERIES while issuing ${TOKENS} tokens in ${Math.round(elapsed)} ms: ${window.length}\n${summary(window)}`);

    // Nothing on the request path: no client, secret, key or deny-list read, and no write but
    // the batched record of secrets' last use (at most one per flush period).
    const reads = window.filter(
      (s) =>
        /\b(clients|client_secrets|signing_keys|revoked_tokens|client_tombstones)\b/i.test(s.sql) && !/^\s*(UPDATE|INSERT)/i.test(s.sql),
    );
    expect(reads.map((s) => s.sql)).toEqual([]);
    const writes = window.filter((s) => /\b(INSERT|UPDATE|DELETE)\b/i.test(s.sql) && !/^\s*BEGIN/i.test(s.sql));
    expect(writes.length).toBeLessThanOrEqual(2 * (Math.floor(elapsed / SECRET_USE_FLUSH_MS) + 1));
    // The pool (application "tessera") answers requests; the background polls run on "tessera changes".
    const pooled = window.filter((s) => s.application !== "tessera changes" && !writes.includes(s));
    expect(pooled.map((s) => s.sql)).toEqual([]);
    // The polls run on their timers, whatever the load: the change counter every CHANGE_POLL_MS
    // and the shared limits every SHARED_LIMITS_SYNC_MS (plus one of each in flight at the edges).
    const budget = Math.ceil(elapsed / CHANGE_POLL_MS) + Math.ceil(elapsed / SHARED_LIMITS_SYNC_MS) + 4;
    expect(window.length).toBeLessThanOrEqual(budget + writes.length);
  }, 120_000);

  it("tokens for the cached client keep coming while the database stops answering altogether", async () => {
    proxy.freeze();
    try {
      await issue(replica, client, 200);
    } finally {
      proxy.thaw();
    }
  }, 60_000);
});
