import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unary } from "../../helpers/grpc-js.js";
import { postForm } from "../../helpers/http.js";
import { type TestDatabase, testPostgres } from "../../helpers/postgres.js";
import {
  adminAuth,
  bootstrapCluster,
  createClientAt,
  introspectAt,
  jwksOf,
  type Replica,
  startReplicas,
  timeUntil,
  tokenAt,
  tokenOf,
  verifyWith,
} from "../../helpers/replicas.js";
import { type Credentials, runTessera } from "../../helpers/tessera-process.js";
import { basic } from "../../helpers/test-server.js";

const server = await testPostgres("three replicas on one PostgreSQL database");

/** How soon every replica must see a change committed through another. */
const BOUND_MS = 1000;

// Every scenario twice: with LISTEN/NOTIFY, and on the polled change counter alone (as behind
// PgBouncer in transaction mode, where notifications never arrive).
describe.skipIf(server === undefined).each([
  { label: "notifications on", args: [] as string[] },
  { label: "notifications off, polling alone", args: ["--db-notify", "off"] },
])("three replicas on one PostgreSQL database, $label", ({ label, args }) => {
  let db: TestDatabase;
  let A: Replica, B: Replica, C: Replica;
  let admin: Credentials;
  let auth: { a: Record<string, string>; b: Record<string, string>; c: Record<string, string> };
  /** A resource server allowed to introspect. */
  let rs: Credentials;
  const kek = randomBytes(32).toString("base64");
  const measured: string[] = [];
  /** Records a propagation time for the report and checks it against the bound. */
  const within = (what: string, ms: number) => {
    measured.push(`${what}: ${ms} ms`);
    expect(ms, what).toBeLessThan(BOUND_MS);
  };

  beforeAll(async () => {
    db = await server!.createDatabase();
    [A, B, C] = await startReplicas(["A", "B", "C"], db.url, { args, env: { TESSERA_KEK: kek } });
    admin = await bootstrapCluster(db.url);
    auth = { a: await adminAuth(A, admin), b: await adminAuth(B, admin), c: await adminAuth(C, admin) };
    rs = await createClientAt(A, auth.a, { name: "orders api", scopes: ["tessera:introspect"] });
  }, 60_000);
  afterAll(async () => {
    console.log(`PROPAGATION (${label}):\n  ${measured.join("\n  ")}`);
    await Promise.all([A, B, C].map((r) => r?.close()));
    for (const r of [A, B, C]) if (r) expect(r.output()).not.toContain(db.password);
    await db?.drop();
  });

  it("a client created through A gets a token from B and C at once", async () => {
    const c = await createClientAt(A, auth.a, { name: "billing", scopes: ["read"] });
    const acked = performance.now();
    within("create at A -> token at B", await timeUntil(async () => (await tokenAt(B, c)).status === 200, acked));
    expect((await tokenAt(C, c)).status).toBe(200);
  });

  it("disabled through C, B (which has the client cached) refuses it within 1 s", async () => {
    const c = await createClientAt(A, auth.a, { name: "to disable", scopes: ["read"] });
    for (const r of [A, B]) await tokenOf(r, c); // cached at A and B now
    await unary(
      C.clients,
      "UpdateClient",
      { client: { client_id: c.clientId, disabled: true }, update_mask: { paths: ["disabled"] } },
      auth.c,
    );
    const acked = performance.now();
    within("disable at C -> refused at B", await timeUntil(async () => (await tokenAt(B, c)).status === 401, acked));
    within("disable at C -> refused at A", await timeUntil(async () => (await tokenAt(A, c)).status === 401, acked));
  });

  it("a token revoked at A is inactive at C at once; its client's other tokens stay active", async () => {
    const c = await createClientAt(A, auth.a, { name: "revoker", scopes: ["read"] });
    const [doomed, kept] = [await tokenOf(B, c), await tokenOf(C, c)];
    expect((await introspectAt(C, rs, doomed)).active).toBe(true);
    const r = await postForm(`${A.url}/oauth/revoke`, { token: doomed }, { authorization: basic(c.clientId, c.clientSecret) });
    expect(r.status).toBe(200);
    const acked = performance.now();
    within("revoke at A -> inactive at C", await timeUntil(async () => (await introspectAt(C, rs, doomed)).active === false, acked));
    expect((await introspectAt(B, rs, doomed)).active).toBe(false);
    expect((await introspectAt(C, rs, kept)).active).toBe(true);
  });

  it("a secret rotated through B (no grace) stops working at A and C within 1 s; the new one works everywhere", async () => {
    const c = await createClientAt(A, auth.a, { name: "rotator", scopes: ["read"] });
    for (const r of [A, C]) await tokenOf(r, c);
    const rotated = await unary<{ client_secret: string }>(
      B.clients,
      "RotateClientSecret",
      { client_id: c.clientId, grace_period: { seconds: "0" } },
      auth.b,
    );
    const acked = performance.now();
    within("rotate at B -> old secret refused at A", await timeUntil(async () => (await tokenAt(A, c)).status === 401, acked));
    within("rotate at B -> old secret refused at C", await timeUntil(async () => (await tokenAt(C, c)).status === 401, acked));
    for (const r of [A, B, C]) await tokenOf(r, { clientId: c.clientId, clientSecret: rotated.client_secret });
  });

  it("scopes changed through C and a cut-off made through A hold at B within 1 s", async () => {
    const c = await createClientAt(A, auth.a, { name: "narrowed", scopes: ["read", "write"] });
    const before = await tokenOf(B, c, { scope: "read" });
    await unary(
      C.clients,
      "UpdateClient",
      { client: { client_id: c.clientId, scopes: ["read", "admin-ish"] }, update_mask: { paths: ["scopes"] } },
      auth.c,
    );
    const acked = performance.now();
    within(
      "scopes at C -> new scope granted at B",
      await timeUntil(async () => (await tokenAt(B, c, { scope: "admin-ish" })).status === 200, acked),
    );
    expect((await tokenAt(B, c, { scope: "write" })).body.error).toBe("invalid_scope");
    // A cut-off: every token issued until now is inactive everywhere, new ones are not.
    await unary(A.clients, "RevokeClientTokens", { client_id: c.clientId }, auth.a);
    const cut = performance.now();
    within(
      "cut-off at A -> old token inactive at B",
      await timeUntil(async () => (await introspectAt(B, rs, before)).active === false, cut),
    );
    const after = await tokenOf(B, c, { scope: "read" });
    expect((await introspectAt(C, rs, after)).active).toBe(true);
  });

  it("a client deleted through C is refused at A and B within 1 s", async () => {
    const c = await createClientAt(B, auth.b, { name: "short-lived", scopes: ["read"] });
    for (const r of [A, B]) await tokenOf(r, c);
    await unary(C.clients, "DeleteClient", { client_id: c.clientId }, auth.c);
    const acked = performance.now();
    within("delete at C -> refused at A", await timeUntil(async () => (await tokenAt(A, c)).status === 401, acked));
    within("delete at C -> refused at B", await timeUntil(async () => (await tokenAt(B, c)).status === 401, acked));
  });

  it("a forced key rotation at B is in A's and C's JWKS within 1 s, A and C sign with the new key, and B's tokens verify through A's JWKS", async () => {
    const c = await createClientAt(A, auth.a, { name: "verifier", scopes: ["read"] });
    const oldKid = (await verifyWith(await jwksOf(A), await tokenOf(A, c))).kid;
    const res = await unary<{ current: { kid: string } }>(B.keys, "RotateSigningKey", { force: true }, auth.b);
    const acked = performance.now();
    const kid = res.current.kid;
    expect(kid).not.toBe(oldKid);
    const published = (r: Replica) => async () => (await jwksOf(r)).keys.some((k) => k.kid === kid);
    within("forced rotation at B -> new key in A's JWKS", await timeUntil(published(A), acked));
    within("forced rotation at B -> new key in C's JWKS", await timeUntil(published(C), acked));
    // The forced rotation withdrew the old keys: the admin tokens signed with them are refused now.
    auth = { a: await adminAuth(A, admin), b: await adminAuth(B, admin), c: await adminAuth(C, admin) };
    expect((await verifyWith(await jwksOf(A), await tokenOf(B, c))).kid).toBe(kid);
    for (const r of [A, C]) {
      within(
        `forced rotation at B -> ${r.name} signs with the new key`,
        await timeUntil(async () => (await verifyWith(await jwksOf(B), await tokenOf(r, c))).kid === kid, acked),
      );
    }
    const jwks = await Promise.all([A, B, C].map(jwksOf));
    expect(new Set(jwks.map((j) => JSON.stringify(j.keys.map((k) => k.kid).sort()))).size).toBe(1);
  });

  it("a KEK rewrap while the replicas run: each sees it within 1 s, keeps signing, and a replica restarted with the new KEK starts on the same keys", async () => {
    const c = await createClientAt(A, auth.a, { name: "through a rewrap", scopes: ["read"] });
    const newKek = randomBytes(32).toString("hex");
    const rewrap = await runTessera(["keys", "rewrap", "--db", db.url], { env: { TESSERA_KEK: kek, TESSERA_NEW_KEK: newKek } });
    expect(rewrap.code, rewrap.stderr).toBe(0);
    expect(rewrap.stdout + rewrap.stderr).not.toContain(db.password);
    const acked = performance.now();
    const warned = (r: Replica) => async () =>
      r.logs.some(
        (l) => typeof l.msg === "string" && l.msg.startsWith("the signing keys were re-encrypted under a KEK this process does not hold"),
      );
    for (const r of [A, B, C]) within(`rewrap -> ${r.name} sees the new envelopes`, await timeUntil(warned(r), acked));
    const kid = (await verifyWith(await jwksOf(A), await tokenOf(A, c))).kid;
    for (const r of [B, C]) expect((await verifyWith(await jwksOf(A), await tokenOf(r, c))).kid).toBe(kid);
    // A rolling restart: A again, now with the new KEK.
    await A.close();
    [A] = await startReplicas(["A"], db.url, { args, env: { TESSERA_KEK: newKek } });
    expect((await verifyWith(await jwksOf(B), await tokenOf(A, c))).kid).toBe(kid);
    // An unreadable KEK refuses to start, in one sentence, exit 2.
    const refused = await runTessera(["serve", "--port", "0", "--db", db.url], { env: { TESSERA_KEK: kek } });
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
    auth.a = await adminAuth(A, admin);
  });

  it("admin changes made through all three at once land in one audit trail, in commit order, none lost", async () => {
    const targets = await Promise.all(
      [A, B, C].map((r, i) => createClientAt(r, [auth.a, auth.b, auth.c][i]!, { name: `audited-${i}`, scopes: ["read"] })),
    );
    const replicas = [A, B, C];
    const auths = [auth.a, auth.b, auth.c];
    await Promise.all(
      replicas.map(async (r, i) => {
        for (let n = 0; n < 10; n++) {
          await unary(
            r.clients,
            "UpdateClient",
            { client: { client_id: targets[i]!.clientId, name: `audited-${i}-${n}` }, update_mask: { paths: ["name"] } },
            auths[i]!,
          );
        }
      }),
    );
    const trail = await unary<{ events: { event_id: string; target: string; action: string }[] }>(
      B.clients,
      "ListAuditEvents",
      { page_size: 1000 },
      auth.b,
    );
    const ids = trail.events.map((e) => Number(e.event_id));
    expect(ids).toEqual([...ids].sort((x, y) => y - x));
    for (const t of targets) expect(trail.events.filter((e) => e.target === t.clientId && e.action === "client.update")).toHaveLength(10);
  });

  it("nothing was refused for a wrong reason: no replica logged a server error", () => {
    for (const r of [A, B, C])
      expect(
        r.logs.filter((l) => l.level === 50),
        r.name,
      ).toEqual([]);
  });
});
