import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POSTGRES_SCHEMA_VERSION } from "../../../src/storage/postgres/migrations.js";
import { type TestDatabase, testPostgres } from "../../helpers/postgres.js";
import { adminAuth, createClientAt, jwksOf, type Replica, startReplicas, tokenOf, verifyWith } from "../../helpers/replicas.js";
import { type Credentials, runTessera } from "../../helpers/tessera-process.js";

const server = await testPostgres("five replicas starting at once on an empty database");

describe.skipIf(server === undefined)("five replicas starting at once on an empty database, bootstrapped from two shells at once", () => {
  let db: TestDatabase;
  let replicas: readonly Replica[] = [];

  beforeAll(async () => {
    db = await server!.createDatabase();
    replicas = await startReplicas(["A", "B", "C", "D", "E"], db.url);
  }, 90_000);
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.close()));
    await db?.drop();
  });

  it("they end with one schema, applied once, and one current key that all of them publish and sign with", async () => {
    const versions = await db.sql<{ version: number }>("SELECT version FROM schema_migrations ORDER BY version");
    expect(versions.map((v) => v.version)).toEqual(Array.from({ length: POSTGRES_SCHEMA_VERSION }, (_, i) => i + 1));
    const current = await db.sql<{ kid: string }>("SELECT kid FROM signing_keys WHERE status = 'current'");
    expect(current).toHaveLength(1);
    for (const r of replicas) expect(r.logs.find((l) => l.msg === "tessera listening")?.kid, r.name).toBe(current[0]!.kid);
    const jwks = await Promise.all(replicas.map(jwksOf));
    expect(new Set(jwks.map((j) => JSON.stringify(j.keys.map((k) => k.kid).sort()))).size).toBe(1);
  });

  it("of two bootstraps at once exactly one creates an admin client; a third is refused; the admin works at every replica", async () => {
    const runs = await Promise.all([runTessera(["bootstrap", "--db", db.url]), runTessera(["bootstrap", "--db", db.url])]);
    const won = runs.filter((r) => r.code === 0);
    const lost = runs.filter((r) => r.code !== 0);
    expect(won, runs.map((r) => r.stderr).join("\n")).toHaveLength(1);
    expect(lost[0]!.code).toBe(2);
    expect(lost[0]!.stderr).toMatch(/was (already bootstrapped|bootstrapped by another process just now)/);
    const again = await runTessera(["bootstrap", "--db", db.url]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("was already bootstrapped");
    for (const r of [...runs, again]) expect(r.stdout + r.stderr).not.toContain(db.password);

    const clients = await db.sql<{ client_id: string }>("SELECT client_id FROM clients");
    const j = JSON.parse(won[0]!.stdout) as { client_id: string; client_secret: string };
    expect(clients.map((c) => c.client_id)).toEqual([j.client_id]);
    const admin: Credentials = { clientId: j.client_id, clientSecret: j.client_secret };
    for (const r of replicas) {
      const made = await createClientAt(r, await adminAuth(r, admin), { name: `made at ${r.name}`, scopes: ["read"] });
      expect((await verifyWith(await jwksOf(replicas[0]!), await tokenOf(r, made))).sub).toBe(made.clientId);
    }
  }, 60_000);
});
