import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../../helpers/eventually.js";
import { type CallFailure, failure, unary } from "../../helpers/grpc-js.js";
import { httpRequest, postForm } from "../../helpers/http.js";
import { healthStatus } from "../../helpers/ops-grpc.js";
import { type TestDatabase, testPostgres } from "../../helpers/postgres.js";
import { adminAuth, bootstrapCluster, createClientAt, type Replica, startReplica, tokenAt, tokenOf } from "../../helpers/replicas.js";
import { type TcpProxy, tcpProxy } from "../../helpers/tcp-proxy.js";
import type { Credentials } from "../../helpers/tessera-process.js";
import { basic } from "../../helpers/test-server.js";

const server = await testPostgres("replicas while PostgreSQL is unreachable");

/** Statuses of a token loop that runs until stopped. */
interface Load {
  statuses: Map<number, number>;
  stop(): Promise<void>;
}

/** Asks `r` for tokens for `c`, `parallel` at a time, until stopped; counts the answers' statuses. */
function load(r: Replica, c: Credentials, parallel = 4): Load {
  const statuses = new Map<number, number>();
  let running = true;
  const loops = Array.from({ length: parallel }, async () => {
    while (running) {
      const s = await tokenAt(r, c).then(
        (x) => x.status,
        () => 0,
      );
      statuses.set(s, (statuses.get(s) ?? 0) + 1);
    }
  });
  return {
    statuses,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** Creates clients at `r` one after another until stopped; the ids whose creation was acknowledged. */
function adminWrites(r: Replica, auth: Record<string, string>, prefix: string) {
  const acked: string[] = [];
  const failed: CallFailure[] = [];
  let running = true;
  let n = 0;
  const loop = (async () => {
    while (running) {
      const id = `${prefix}-${n++}`;
      await unary(r.clients, "CreateClient", { client_id: id, name: id, scopes: ["read"] }, auth).then(
        () => acked.push(id),
        // Refused at once while the database is away: a short pause keeps the loop from spinning.
        async (e: CallFailure) => {
          failed.push(e);
          await new Promise((r) => setTimeout(r, 50));
        },
      );
    }
  })();
  return {
    acked,
    failed,
    async stop() {
      running = false;
      await loop;
    },
  };
}

describe.skipIf(server === undefined)("replicas while PostgreSQL is unreachable (a proxy in front of it cut and restored)", () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  /** A: default grace. B: a grace of 2 s, to see what happens past it. */
  let A: Replica, B: Replica;
  let admin: Credentials;
  let auth: Record<string, string>;
  let cached: Credentials;
  let uncached: Credentials;
  let canary: Credentials;

  beforeAll(async () => {
    db = await server!.createDatabase();
    proxy = await tcpProxy(db.port);
    const url = new URL(db.url);
    url.hostname = "127.0.0.1";
    url.port = String(proxy.port);
    [A, B] = await Promise.all([
      startReplica("A", url.toString()),
      startReplica("B", url.toString(), { args: ["--db-outage-grace", "2s"] }),
    ]);
    admin = await bootstrapCluster(db.url);
    auth = await adminAuth(A, admin);
    cached = await createClientAt(A, auth, { name: "cached", scopes: ["read", "tessera:introspect"] });
    uncached = await createClientAt(A, auth, { name: "never used", scopes: ["read"] });
    canary = await createClientAt(A, auth, { name: "canary", scopes: ["read"] });
    for (const r of [A, B]) await tokenOf(r, cached);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([A, B].map((r) => r?.close()));
    await proxy?.close();
    await db?.drop();
  });

  it("under load: cached clients keep getting tokens, everything needing the database answers 503 / UNAVAILABLE with a retry hint, and all recovers by itself with no acknowledged write lost", async () => {
    const tokens = load(A, cached);
    const before = adminWrites(A, auth, "before");
    await eventually("admin writes before the outage", () => before.acked.length >= 5, { timeoutMs: 10_000 });
    await before.stop();
    expect(before.failed).toEqual([]);
    // A replica empties its client cache when it sees a committed change, its own writes
    // included, so the cached client is in A's memory at the cut only if A read it after seeing
    // the last write. B disables a client A holds in memory; A refuses it once it has seen that
    // change, and with it every earlier one. Then A reads the cached client once more.
    await tokenOf(A, canary);
    await unary(
      B.clients,
      "UpdateClient",
      { client: { client_id: canary.clientId, disabled: true }, update_mask: { paths: ["disabled"] } },
      auth,
    );
    await eventually("A has seen B's change", async () => (await tokenAt(A, canary)).status === 401, { timeoutMs: 10_000 });
    const token = await tokenOf(A, cached);

    await proxy.cut();
    // Admin writes from the start of the outage until after it.
    const writes = adminWrites(A, auth, "during");
    try {
      // Tokens for the cached client: still issued (HTTP and gRPC).
      for (let i = 0; i < 20; i++) expect((await tokenAt(A, cached)).status).toBe(200);
      await unary(A.tokens, "IssueToken", { client_id: cached.clientId, client_secret: cached.clientSecret });
      // A client not in memory: 503 temporarily_unavailable with Retry-After, never 500 or 401.
      const u = await tokenAt(A, uncached);
      expect(u.status).toBe(503);
      expect(u.body.error).toBe("temporarily_unavailable");
      expect(Number(u.headers.get("retry-after"))).toBeGreaterThan(0);
      // Revocation and introspection need the deny-list: 503 too.
      const rv = await postForm(`${A.url}/oauth/revoke`, { token }, { authorization: basic(cached.clientId, cached.clientSecret) });
      expect([rv.status, rv.body.error]).toEqual([503, "temporarily_unavailable"]);
      const is = await postForm(`${A.url}/oauth/introspect`, { token }, { authorization: basic(cached.clientId, cached.clientSecret) });
      expect([is.status, is.body.error]).toEqual([503, "temporarily_unavailable"]);
      // Admin writes: UNAVAILABLE with a retry-after trailer.
      const w = await failure(
        unary(A.clients, "UpdateClient", { client: { client_id: cached.clientId, name: "x" }, update_mask: { paths: ["name"] } }, auth),
      );
      expect(w.code).toBe(14);
      expect(Number(w.retryAfter)).toBeGreaterThan(0);
      // Probes: not ready, the admin services NOT_SERVING, the process itself SERVING.
      await eventually("/readyz 503", async () => (await httpRequest("GET", `${A.url}/readyz`)).status === 503, { timeoutMs: 10_000 });
      await eventually("ClientAdmin NOT_SERVING", async () => (await healthStatus(A.health, "tessera.v1.ClientAdmin")) === "NOT_SERVING", {
        timeoutMs: 10_000,
      });
      expect(await healthStatus(A.health, "")).toBe("SERVING");
      expect(await healthStatus(A.health, "tessera.v1.TokenService")).toBe("SERVING");
      // B's grace (2 s) runs out: its cached client is refused as unavailable, and TokenService says so.
      await eventually("B refuses past its grace", async () => (await tokenAt(B, cached)).status === 503, { timeoutMs: 10_000 });
      expect((await tokenAt(B, cached)).body.error).toBe("temporarily_unavailable");
      const g = await failure(unary(B.tokens, "IssueToken", { client_id: cached.clientId, client_secret: cached.clientSecret }));
      expect(g.code).toBe(14);
      // The next change poll (every 250 ms) finds the grace run out.
      await eventually(
        "B's TokenService NOT_SERVING",
        async () => (await healthStatus(B.health, "tessera.v1.TokenService")) === "NOT_SERVING",
        { timeoutMs: 10_000 },
      );
      expect(writes.acked).toEqual([]); // none acknowledged while the database is away
    } finally {
      await proxy.restore();
    }
    // Everything comes back without a restart.
    await eventually("admin writes after the outage", () => writes.acked.length >= 5, { timeoutMs: 30_000 });
    await eventually("B issues again", async () => (await tokenAt(B, cached)).status === 200, { timeoutMs: 10_000 });
    await eventually("an uncached client again", async () => (await tokenAt(A, uncached)).status === 200, { timeoutMs: 10_000 });
    await eventually("/readyz 200", async () => (await httpRequest("GET", `${A.url}/readyz`)).status === 200, { timeoutMs: 10_000 });
    await eventually("ClientAdmin SERVING", async () => (await healthStatus(A.health, "tessera.v1.ClientAdmin")) === "SERVING", {
      timeoutMs: 10_000,
    });
    expect(await healthStatus(B.health, "tessera.v1.TokenService")).toBe("SERVING");
    await writes.stop();
    await tokens.stop();

    // The cached client's load saw only tokens; nothing anywhere answered 500.
    expect([...tokens.statuses.keys()]).toEqual([200]);
    expect(
      writes.failed.every((f) => f.code === 14),
      JSON.stringify(writes.failed.filter((f) => f.code !== 14)),
    ).toBe(true);
    const stored = new Set(
      (
        await db.sql<{ client_id: string }>("SELECT client_id FROM clients WHERE client_id LIKE 'before-%' OR client_id LIKE 'during-%'")
      ).map((r) => r.client_id),
    );
    expect([...before.acked, ...writes.acked].filter((id) => !stored.has(id))).toEqual([]);
    for (const r of [A, B]) expect(r.output()).not.toContain(db.password);
    console.log(
      `OUTAGE: ${tokens.statuses.get(200)} tokens for the cached client, all 200; ${before.acked.length + writes.acked.length} admin writes acknowledged (all stored), ${writes.failed.length} refused with UNAVAILABLE`,
    );
  }, 120_000);

  it("SIGKILL of a replica in the middle of admin writes loses no acknowledged write", async () => {
    const C = await startReplica("C", db.url);
    const cAuth = await adminAuth(C, admin);
    const writes = adminWrites(C, cAuth, "killed");
    await eventually("admin writes at C", () => writes.acked.length >= 20, { timeoutMs: 20_000 });
    await C.close("SIGKILL");
    await writes.stop();
    const stored = new Set(
      (await db.sql<{ client_id: string }>("SELECT client_id FROM clients WHERE client_id LIKE 'killed-%'")).map((r) => r.client_id),
    );
    expect(writes.acked.filter((id) => !stored.has(id))).toEqual([]);
    // And the others see them.
    for (const id of writes.acked.slice(-3)) {
      const got = await unary<{ client: { client_id: string } }>(A.clients, "GetClient", { client_id: id }, auth);
      expect(got.client.client_id).toBe(id);
    }
  }, 60_000);
});
