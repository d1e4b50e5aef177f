import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unary } from "../../helpers/grpc-js.js";
import { postForm } from "../../helpers/http.js";
import { type TestDatabase, testPostgres } from "../../helpers/postgres.js";
import {
  adminAuth,
  createClientAt,
  introspectAt,
  jwksOf,
  type Replica,
  startReplica,
  tokenOf,
  verifyWith,
} from "../../helpers/replicas.js";
import { bootstrap, type Credentials, runTessera, tempDir } from "../../helpers/tessera-process.js";
import { basic } from "../../helpers/test-server.js";

const server = await testPostgres("tessera copy between SQLite and PostgreSQL");

/** What was issued and changed before the move, to check after it. */
interface Before {
  admin: Credentials;
  rs: Credentials;
  kept: string;
  revoked: string;
  cutOff: string;
  deletedId: string;
  auditIds: string[];
}

describe.skipIf(server === undefined)("tessera copy: SQLite to PostgreSQL and back", () => {
  const dir = tempDir("copy");
  const file = join(dir, "tessera.db");
  const back = join(dir, "back.db");
  const env = { TESSERA_KEK: randomBytes(32).toString("hex") };
  let db: TestDatabase;
  let before: Before;

  const auditIds = async (r: Replica, admin: Credentials) =>
    (
      await unary<{ events: { event_id: string }[] }>(r.clients, "ListAuditEvents", { page_size: 1000 }, await adminAuth(r, admin))
    ).events.map((e) => e.event_id);

  beforeAll(async () => {
    db = await server!.createDatabase();
    const admin = await bootstrap(file, env);
    const s = await startReplica("sqlite", file, { env });
    try {
      const auth = await adminAuth(s, admin);
      const rs = await createClientAt(s, auth, { name: "resource server", scopes: ["tessera:introspect"] });
      const c = await createClientAt(s, auth, { name: "moving", scopes: ["read"] });
      const kept = await tokenOf(s, c);
      const revoked = await tokenOf(s, c);
      expect(
        (await postForm(`${s.url}/oauth/revoke`, { token: revoked }, { authorization: basic(c.clientId, c.clientSecret) })).status,
      ).toBe(200);
      const cut = await createClientAt(s, auth, { name: "cut off", scopes: ["read"] });
      const cutOff = await tokenOf(s, cut);
      await unary(s.clients, "RevokeClientTokens", { client_id: cut.clientId }, auth);
      const gone = await createClientAt(s, auth, { name: "deleted", scopes: ["read"] });
      await unary(s.clients, "DeleteClient", { client_id: gone.clientId }, auth);
      before = { admin, rs, kept, revoked, cutOff, deletedId: gone.clientId, auditIds: await auditIds(s, admin) };
    } finally {
      await s.close();
    }
  }, 60_000);
  afterAll(async () => {
    await db?.drop();
  });

  /** Checks, on a server started on the copy, that everything from before the move holds. */
  async function holdsEverything(r: Replica): Promise<void> {
    expect((await introspectAt(r, before.rs, before.kept)).active).toBe(true);
    expect((await introspectAt(r, before.rs, before.revoked)).active).toBe(false);
    expect((await introspectAt(r, before.rs, before.cutOff)).active).toBe(false);
    expect((await verifyWith(await jwksOf(r), before.kept)).sub).toBeDefined();
    expect(await auditIds(r, before.admin)).toEqual(before.auditIds);
  }

  it("copies to an empty PostgreSQL database, checks it, and a replica there accepts the tokens issued before", async () => {
    const r = await runTessera(["copy", "--from", file, "--to", db.url], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Copied .* read it back and compared:/);
    for (const kind of ["meta", "signing_key", "client", "client_tombstone", "revoked_token", "audit_event"])
      expect(r.stdout).toMatch(new RegExp(`^${kind}\\s+\\d+\\s+[0-9a-f]{16}\\s+same`, "m"));
    expect(r.stdout + r.stderr).not.toContain(db.password);
    const replica = await startReplica("postgres", db.url, { env });
    try {
      await holdsEverything(replica);
      expect(await db.sql("SELECT client_id FROM client_tombstones")).toEqual([{ client_id: before.deletedId }]);
    } finally {
      await replica.close();
    }
  }, 60_000);

  it("refuses a target that holds anything unless --force, changing nothing; refuses a missing source and the same database twice", async () => {
    const clientsBefore = await db.sql("SELECT client_id FROM clients ORDER BY client_id");
    const refused = await runTessera(["copy", "--from", file, "--to", db.url], { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
    expect(refused.stderr).toMatch(/is not empty \(.*client: \d+.*\); copy into an empty database, or pass --force/);
    expect(refused.stderr).not.toContain(db.password);
    expect(await db.sql("SELECT client_id FROM clients ORDER BY client_id")).toEqual(clientsBefore);
    const forced = await runTessera(["copy", "--force", "--from", file, "--to", db.url], { env });
    expect(forced.code, forced.stderr).toBe(0);
    expect(await db.sql("SELECT client_id FROM clients ORDER BY client_id")).toEqual(clientsBefore);
    const missing = await runTessera(["copy", "--from", join(dir, "typo.db"), "--to", join(dir, "x.db")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("There is no database at");
    const same = await runTessera(["copy", "--from", db.url, "--to", db.url]);
    expect(same.code).toBe(2);
    expect(same.stderr).toContain("name the same database");
    expect(same.stderr).not.toContain(db.password);
  });

  it("copies back from PostgreSQL (written to since) into a new SQLite file, and a server there holds everything too", async () => {
    const replica = await startReplica("postgres", db.url, { env });
    let extra: Credentials;
    try {
      extra = await createClientAt(replica, await adminAuth(replica, before.admin), { name: "made on PostgreSQL", scopes: ["read"] });
      before.auditIds = await auditIds(replica, before.admin);
    } finally {
      await replica.close();
    }
    const r = await runTessera(["copy", "--from", db.url, "--to", back], { env });
    expect(r.code, r.stderr).toBe(0);
    const s = await startReplica("back", back, { env });
    try {
      await holdsEverything(s);
      await tokenOf(s, extra);
    } finally {
      await s.close();
    }
  }, 60_000);
});
