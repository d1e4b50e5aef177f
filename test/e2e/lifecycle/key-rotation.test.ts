import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INTROSPECT_SCOPE } from "../../../src/core/introspect-token.js";
import { failure, grpcClient, unary } from "../../helpers/grpc-js.js";
import { basic, startTestServer, type TestServer } from "../../helpers/test-server.js";

const MIN = 60_000;
let now = Date.parse("2026-11-26T12:00:00Z");
let server: TestServer;
let tokens: grpc.Client;
let keyAdmin: grpc.Client;
let bearer: Record<string, string>;
let svc: { clientId: string; clientSecret: string };
let rs: { clientId: string; clientSecret: string };

// KeyAdmin is not in the shared grpc-js helper; load it the same independent way.
function keyAdminClient(port: number): grpc.Client {
  const def = protoLoader.loadSync("tessera/v1/key_admin.proto", {
    includeDirs: [fileURLToPath(new URL("../../../proto", import.meta.url))],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { tessera: { v1: { KeyAdmin: grpc.ServiceClientConstructor } } };
  return new pkg.tessera.v1.KeyAdmin(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}

async function jwks(): Promise<{ body: JSONWebKeySet; cacheControl: string | null }> {
  const res = await fetch(`${server.url}/.well-known/jwks.json`);
  return { body: (await res.json()) as JSONWebKeySet, cacheControl: res.headers.get("cache-control") };
}

async function token(): Promise<string> {
  const res = await fetch(`${server.url}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(svc.clientId, svc.clientSecret) },
    body: "grant_type=client_credentials",
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

const kidOf = (t: string) => JSON.parse(Buffer.from(t.split(".")[0]!, "base64url").toString()) as { kid: string; alg: string };

async function introspect(t: string): Promise<boolean> {
  const res = await fetch(`${server.url}/oauth/introspect`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(rs.clientId, rs.clientSecret) },
    body: new URLSearchParams({ token: t }),
  });
  return ((await res.json()) as { active: boolean }).active;
}

async function verify(t: string, set: JSONWebKeySet) {
  return jwtVerify(t, createLocalJWKSet(set), { issuer: server.issuer, currentDate: new Date(now) });
}

beforeAll(async () => {
  server = await startTestServer({ clock: () => now });
  tokens = grpcClient("TokenService", server.port);
  keyAdmin = keyAdminClient(server.port);
  svc = await server.createClient({ scopes: ["read"] });
  rs = await server.createClient({ scopes: [INTROSPECT_SCOPE] });
  await refreshAdminToken();
});

// The fake clock moves by hours here, so the admin token is re-issued when it would expire.
async function refreshAdminToken(): Promise<void> {
  const a = await server.admin();
  const res = await unary<{ access_token: string }>(tokens, "IssueToken", { client_id: a.clientId, client_secret: a.clientSecret });
  bearer = { authorization: `Bearer ${res.access_token}` };
}
afterAll(async () => {
  tokens?.close();
  keyAdmin?.close();
  await server?.stop();
});

describe("signing key lifecycle", () => {
  it("publishes the current and the next key, with a Cache-Control max-age shorter than the pre-publication window", async () => {
    const { body, cacheControl } = await jwks();
    expect(body.keys).toHaveLength(2);
    expect(cacheControl).toBe("public, max-age=900"); // the next key waits 2 x 900 s before it signs
    const list = await unary<{ keys: { state: string; kid: string; encrypted: boolean }[] }>(keyAdmin, "ListSigningKeys", {}, bearer);
    expect(list.keys.map((k) => k.state).sort()).toEqual(["SIGNING_KEY_STATE_CURRENT", "SIGNING_KEY_STATE_NEXT"]);
    expect(JSON.stringify(list)).not.toMatch(/"d"|privateKey|private_key/);
  });

  it("refuses an on-demand rotation to a key verifiers may not have yet, unless forced", async () => {
    const f = await failure(unary(keyAdmin, "RotateSigningKey", {}, bearer));
    expect(f.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(decodeURIComponent(f.details)).toMatch(/one JWKS cache lifetime.*rotate again in \d+s/);
  });

  it("a verifier that cached the JWKS before a rotation verifies every token issued after it", async () => {
    const before = await token();
    const cached = (await jwks()).body;
    now += 31 * MIN; // the next key has now been published for longer than 2 x max-age
    const res = await unary<{ current: { kid: string } }>(keyAdmin, "RotateSigningKey", {}, bearer);
    const after = await token();
    expect(kidOf(after).kid).toBe(res.current.kid);
    expect(kidOf(after).kid).not.toBe(kidOf(before).kid);
    await verify(after, cached); // the old cached set already held the new signing key
    const fresh = (await jwks()).body;
    await verify(before, fresh); // and the retired key is still published
    expect(await introspect(before)).toBe(true);
    expect(await introspect(after)).toBe(true);
  });

  it("the JWKS is never empty and old tokens keep verifying across many rotations; retired keys leave after their tokens expired", async () => {
    const issued: string[] = [];
    for (let i = 0; i < 5; i++) {
      issued.push(await token());
      now += 31 * MIN;
      await refreshAdminToken();
      await unary(keyAdmin, "RotateSigningKey", {}, bearer);
      const set = (await jwks()).body;
      expect(set.keys.length).toBeGreaterThanOrEqual(2);
      for (const t of issued) {
        if (JSON.parse(Buffer.from(t.split(".")[1]!, "base64url").toString()).exp * 1000 > now) await verify(t, set);
      }
    }
    const count = (await jwks()).body.keys.length;
    now += 25 * 60 * MIN; // beyond the longest token lifetime (24 h) plus skew
    await server.running.maintain();
    const after = (await jwks()).body;
    expect(after.keys.length).toBeLessThan(count);
    expect(after.keys).toHaveLength(2); // current and next remain
  });

  it("GetJwks over gRPC returns the same keys and max-age as the HTTP JWKS", async () => {
    const http = (await jwks()).body;
    const g = await unary<{ keys: { kid: string; kty: string; x: string }[]; max_age_seconds: number }>(tokens, "GetJwks", {});
    expect(g.max_age_seconds).toBe(900);
    expect(g.keys.map((k) => k.kid).sort()).toEqual(http.keys.map((k) => k.kid!).sort());
    for (const k of g.keys) expect(k.x).toBe(http.keys.find((h) => h.kid === k.kid)!.x);
  });

  it("KeyAdmin needs the admin scope", async () => {
    await refreshAdminToken();
    const res = await unary<{ access_token: string }>(tokens, "IssueToken", { client_id: svc.clientId, client_secret: svc.clientSecret });
    const f = await failure(unary(keyAdmin, "ListSigningKeys", {}, { authorization: `Bearer ${res.access_token}` }));
    expect(f.code).toBe(grpc.status.PERMISSION_DENIED);
    expect((await failure(unary(keyAdmin, "RotateSigningKey", { force: true }))).code).toBe(grpc.status.UNAUTHENTICATED);
  });
});
