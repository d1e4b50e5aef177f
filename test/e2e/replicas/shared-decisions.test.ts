import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../../helpers/eventually.js";
import { type CallFailure, unary } from "../../helpers/grpc-js.js";
import { postForm } from "../../helpers/http.js";
import { type TestDatabase, testPostgres } from "../../helpers/postgres.js";
import {
  adminAuth,
  bootstrapCluster,
  createClientAt,
  jwksOf,
  type Replica,
  startReplica,
  startReplicas,
  tokenAt,
  tokenOf,
} from "../../helpers/replicas.js";
import type { Credentials } from "../../helpers/tessera-process.js";
import { basic } from "../../helpers/test-server.js";

const server = await testPostgres("decisions three replicas share");

const FAILURE_LIMIT = 5;
const REVOCATION_LIMIT = 4;
const DAY = 86_400_000;

describe.skipIf(server === undefined)("decisions three replicas on one database take together", () => {
  let db: TestDatabase;
  let replicas: readonly Replica[] = [];
  let admin: Credentials;
  const stored = async () => db.sql<{ kid: string; status: string }>("SELECT kid, status FROM signing_keys ORDER BY create_time, kid");

  beforeAll(async () => {
    db = await server!.createDatabase();
    // A database whose key rotation is due, as after a month: the current key's activation and
    // the next key's publication pushed 40 days into the past.
    const first = await startReplica("first", db.url);
    await first.close();
    await db.sql(`UPDATE signing_keys SET create_time = create_time - ${40 * DAY}, activate_time = activate_time - ${40 * DAY}`);
    replicas = await startReplicas(["A", "B", "C"], db.url, {
      args: ["--auth-failure-limit", String(FAILURE_LIMIT), "--revocation-limit", String(REVOCATION_LIMIT), "--revocation-window", "1h"],
    });
    admin = await bootstrapCluster(db.url);
  }, 90_000);
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.close()));
    await db?.drop();
  });

  it("a rotation due when three replicas start at once happens once: one key retired, the next one signs everywhere", async () => {
    const keys = await stored();
    expect(keys.map((k) => k.status).sort()).toEqual(["current", "next", "retired"]);
    const current = keys.find((k) => k.status === "current")!.kid;
    for (const r of replicas) expect(r.logs.find((l) => l.msg === "tessera listening")?.kid, r.name).toBe(current);
  });

  it("two replicas asked to rotate at the same moment produce one new key; the other is told it is too soon", async () => {
    await db.sql(`UPDATE signing_keys SET create_time = create_time - ${DAY}`); // the next key has been published long enough
    const before = await stored();
    const [A, B] = replicas as [Replica, Replica];
    const [authA, authB] = [await adminAuth(A, admin), await adminAuth(B, admin)];
    const answers = await Promise.all([
      unary<{ current: { kid: string } }>(A.keys, "RotateSigningKey", {}, authA).catch((e: CallFailure) => e),
      unary<{ current: { kid: string } }>(B.keys, "RotateSigningKey", {}, authB).catch((e: CallFailure) => e),
    ]);
    const rotated = answers.filter((a): a is { current: { kid: string } } => "current" in a);
    const refused = answers.filter((a): a is CallFailure => "code" in a);
    expect(rotated).toHaveLength(1);
    expect(refused.map((f) => [f.code, /too soon|less than one JWKS cache lifetime/.test(f.details)])).toEqual([[9, true]]); // FAILED_PRECONDITION
    const after = await stored();
    expect(after.filter((k) => k.status === "current").map((k) => k.kid)).toEqual([rotated[0]!.current.kid]);
    expect(after.filter((k) => !before.some((b) => b.kid === k.kid))).toHaveLength(1); // one new next key
    for (const r of replicas)
      await eventually(`${r.name} publishes the new key`, async () =>
        (await jwksOf(r)).keys.some((k) => k.kid === rotated[0]!.current.kid),
      );
  });

  it(`failed authentications for one client id from one address count over all replicas: about ${FAILURE_LIMIT}, not ${3 * FAILURE_LIMIT}`, async () => {
    const [A] = replicas as [Replica];
    const victim = await createClientAt(A, await adminAuth(A, admin), { name: "guessed at", scopes: ["read"] });
    const guess = { clientId: victim.clientId, clientSecret: "tsec_wrong-guess" };
    const statuses: number[] = [];
    for (let i = 0; i < 6 * FAILURE_LIMIT; i++) statuses.push((await tokenAt(replicas[i % 3]!, guess)).status);
    const tried = statuses.filter((s) => s === 401).length;
    // A replica learns the others' failures when it writes its own, or within half a second:
    // at most one more attempt each for the other two.
    expect(tried).toBeGreaterThanOrEqual(FAILURE_LIMIT);
    expect(tried).toBeLessThanOrEqual(FAILURE_LIMIT + 2);
    expect(statuses.slice(-6)).toEqual([429, 429, 429, 429, 429, 429]);
  });

  it(`revocations by one client count over all replicas: about ${REVOCATION_LIMIT}, not ${3 * REVOCATION_LIMIT}`, async () => {
    const [A] = replicas as [Replica];
    const c = await createClientAt(A, await adminAuth(A, admin), { name: "revoker", scopes: ["read"] });
    const statuses: number[] = [];
    for (let i = 0; i < 4 * REVOCATION_LIMIT; i++) {
      const r = replicas[i % 3]!;
      const token = await tokenOf(r, c);
      statuses.push((await postForm(`${r.url}/oauth/revoke`, { token }, { authorization: basic(c.clientId, c.clientSecret) })).status);
    }
    const stored = statuses.filter((s) => s === 200).length;
    expect(stored).toBeGreaterThanOrEqual(REVOCATION_LIMIT);
    expect(stored).toBeLessThanOrEqual(REVOCATION_LIMIT + 2);
    expect(statuses.slice(-3)).toEqual([503, 503, 503]);
    const [{ n }] = (await db.sql<{ n: number }>("SELECT count(*)::int AS n FROM revoked_tokens WHERE client_id = $1", [c.clientId])) as [
      { n: number },
    ];
    expect(n).toBe(stored);
  });
});
