import { randomUUID } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import Database from "better-sqlite3";
import { createLocalJWKSet, importJWK, type JSONWebKeySet, type JWK, jwtVerify, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INTROSPECT_SCOPE } from "../../../src/core/introspect-token.js";
import { failure } from "../../helpers/grpc-js.js";
import { getText, postForm } from "../../helpers/http.js";
import { adminToken, bearer, opsClient, unary } from "../../helpers/ops-grpc.js";
import { bootstrap, type Credentials, runTessera, startTessera, type TesseraProcess, tempDir } from "../../helpers/tessera-process.js";
import { basic } from "../../helpers/test-server.js";

// The incident response for a leaked signing key, end to end: an attacker copies the database
// file of a running Tessera (no KEK), takes the private keys out of it, forges admin tokens and
// plants a client of its own. The operator follows the README (keys rotate --force, audit,
// delete what the attacker made). Afterwards nothing the attacker holds works.

const issuer = "http://tessera.leak.test";
let dir: string;
let server: TesseraProcess;
let admin: Credentials;
let tokens: grpc.Client;
let clients: grpc.Client;
let rs: Credentials;
const adminEnv = () => ({ TESSERA_CLIENT_ID: admin.clientId, TESSERA_CLIENT_SECRET: admin.clientSecret });

interface StolenKey {
  kid: string;
  alg: string;
  status: string;
  jwk: JWK;
}

/** What a local user who can read the files gets: a copy of the database, opened at leisure. */
function stealKeys(db: string): { keys: StolenKey[]; adminIds: string[]; createdAt: number } {
  const loot = join(dir, "loot");
  mkdirSync(loot);
  for (const suffix of ["", "-wal", "-shm"]) if (existsSync(db + suffix)) copyFileSync(db + suffix, join(loot, `tessera.db${suffix}`));
  const copy = new Database(join(loot, "tessera.db"), { readonly: true });
  try {
    const keys = (
      copy.prepare("SELECT kid, alg, status, private_key FROM signing_keys").all() as {
        kid: string;
        alg: string;
        status: string;
        private_key: string;
      }[]
    ).map((r) => ({ kid: r.kid, alg: r.alg, status: r.status, jwk: JSON.parse(r.private_key) as JWK }));
    const admins = (
      copy.prepare("SELECT client_id, scopes, create_time FROM clients").all() as {
        client_id: string;
        scopes: string;
        create_time: number;
      }[]
    ).filter((c) => (JSON.parse(c.scopes) as string[]).includes("tessera:admin"));
    return { keys, adminIds: admins.map((c) => c.client_id), createdAt: admins[0]!.create_time };
  } finally {
    copy.close();
  }
}

async function forgeAdmin(key: StolenKey, clientId: string, iatOffset = 0, lifetime = 600): Promise<string> {
  const iat = Math.floor(Date.now() / 1000) + iatOffset;
  const claims = {
    iss: issuer,
    sub: clientId,
    client_id: clientId,
    aud: issuer,
    iat,
    exp: iat + lifetime,
    jti: randomUUID(),
    scope: "tessera:admin",
  };
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, typ: "at+jwt", kid: key.kid }).sign(await importJWK(key.jwk, key.alg));
}

async function adminCall(token: string): Promise<"ok" | grpc.status> {
  try {
    await unary(clients, "ListClients", { page_size: 1 }, bearer(token));
    return "ok";
  } catch {
    return (await failure(unary(clients, "ListClients", { page_size: 1 }, bearer(token)))).code;
  }
}

async function introspect(token: string): Promise<Record<string, unknown>> {
  const r = await postForm(`${server.url}/oauth/introspect`, { token }, { authorization: basic(rs.clientId, rs.clientSecret) });
  expect(r.status).toBe(200);
  return r.body;
}

beforeAll(async () => {
  dir = tempDir("leaked-key");
  const db = join(dir, "tessera.db");
  admin = await bootstrap(db);
  server = await startTessera({ db, args: ["--issuer", issuer] });
  tokens = opsClient("TokenService", `127.0.0.1:${server.port}`);
  clients = opsClient("ClientAdmin", `127.0.0.1:${server.port}`);
  const r = await unary<{ client: { client_id: string }; client_secret: string }>(
    clients,
    "CreateClient",
    { name: "orders api", scopes: [INTROSPECT_SCOPE] },
    bearer(await adminToken(tokens, admin)),
  );
  rs = { clientId: r.client.client_id, clientSecret: r.client_secret };
});
afterAll(async () => {
  tokens?.close();
  clients?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("a signing key copied out of the database file", () => {
  let stolen: StolenKey[];
  let forged: { what: string; token: string }[];
  let backdoor: Credentials;
  let backdoorToken: string;

  it("lets its holder forge admin tokens and plant a client; tokens no Tessera would issue are refused already", async () => {
    const loot = stealKeys(join(dir, "tessera.db"));
    stolen = loot.keys;
    expect(stolen.map((k) => k.status).sort()).toEqual(["current", "next"]);
    expect(loot.adminIds).toEqual([admin.clientId]);
    const current = stolen.find((k) => k.status === "current")!;
    const next = stolen.find((k) => k.status === "next")!;

    forged = [
      { what: "current key", token: await forgeAdmin(current, admin.clientId) },
      // As old as the admin client itself (the copy tells when it was created).
      {
        what: "current key, backdated",
        token: await forgeAdmin(current, admin.clientId, Math.floor(loot.createdAt / 1000) - Math.floor(Date.now() / 1000)),
      },
      { what: "next key", token: await forgeAdmin(next, admin.clientId) },
    ];
    for (const f of forged) expect(await adminCall(f.token), f.what).toBe("ok");
    expect(await introspect(forged[0]!.token)).toMatchObject({ active: true, client_id: admin.clientId });

    // Made to outlast a revocation: an iat an hour ahead, or a lifetime of a year.
    const future = await forgeAdmin(current, admin.clientId, 3600);
    const forever = await forgeAdmin(current, admin.clientId, 0, 365 * 86400);
    for (const t of [future, forever]) {
      expect(await adminCall(t)).toBe(grpc.status.UNAUTHENTICATED);
      expect(await introspect(t)).toEqual({ active: false });
    }

    // The attacker plants an admin client of its own, and gets a real token for it.
    const made = await unary<{ client: { client_id: string }; client_secret: string }>(
      clients,
      "CreateClient",
      { client_id: "metrics-exporter", name: "metrics exporter", scopes: ["tessera:admin"] },
      bearer(forged[0]!.token),
    );
    backdoor = { clientId: made.client.client_id, clientSecret: made.client_secret };
    backdoorToken = await adminToken(tokens, backdoor);
    expect(await adminCall(backdoorToken)).toBe("ok");
  });

  it("the README's steps end it at once: keys rotate --force, audit, delete what the attacker made", async () => {
    const rotate = await runTessera(["keys", "rotate", "--force", "--server", server.url], { env: adminEnv() });
    expect(rotate.code, rotate.stderr).toBe(0);
    const jwks = JSON.parse(await getText(`${server.url}/.well-known/jwks.json`)) as JSONWebKeySet;
    for (const k of stolen) expect(jwks.keys.map((j) => j.kid)).not.toContain(k.kid);

    // Every forged token is refused at once, whatever key and iat it claims.
    for (const f of forged) {
      expect(await adminCall(f.token), f.what).toBe(grpc.status.UNAUTHENTICATED);
      expect(await introspect(f.token), f.what).toEqual({ active: false });
    }

    // The audit trail shows what was done with them.
    const audit = await runTessera(["audit", "--json", "--server", server.url], { env: adminEnv() });
    expect(audit.code, audit.stderr).toBe(0);
    const events = (JSON.parse(audit.stdout) as { events: { action: string; target: string; changes: Record<string, unknown> }[] }).events;
    expect(events[0]).toMatchObject({
      action: "keys.rotate",
      changes: { force: true, withdrawn: expect.arrayContaining(stolen.map((k) => k.kid)) },
    });
    const known = [admin.clientId, rs.clientId];
    const planted = events.filter((e) => e.action === "client.create" && !known.includes(e.target)).map((e) => e.target);
    expect(planted).toEqual(["metrics-exporter"]);
    for (const id of planted) {
      const del = await runTessera(["clients", "delete", id, "--yes", "--server", server.url], { env: adminEnv() });
      expect(del.code, del.stderr).toBe(0);
    }

    // The planted client's token and credentials are dead too.
    expect(await adminCall(backdoorToken)).toBe(grpc.status.UNAUTHENTICATED);
    const again = await postForm(
      `${server.url}/oauth/token`,
      { grant_type: "client_credentials" },
      { authorization: basic(backdoor.clientId, backdoor.clientSecret) },
    );
    expect(again.status).toBe(401);

    // And the stolen keys sign nothing that works from now on, whatever the claims.
    for (const k of stolen) {
      for (const offset of [-3600, 0, 20])
        expect(await adminCall(await forgeAdmin(k, admin.clientId, offset))).toBe(grpc.status.UNAUTHENTICATED);
    }

    // The real admin carries on with a token of the new key, which verifies against the new JWKS.
    const fresh = await adminToken(tokens, admin);
    expect(await adminCall(fresh)).toBe("ok");
    const { protectedHeader } = await jwtVerify(fresh, createLocalJWKSet(jwks), { issuer });
    expect(stolen.map((k) => k.kid)).not.toContain(protectedHeader.kid);
  });
});
