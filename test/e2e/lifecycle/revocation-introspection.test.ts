import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INTROSPECT_SCOPE } from "../../../src/core/introspect-token.js";
import { failure, grpcClient, unary } from "../../helpers/grpc-js.js";
import { basic, startTestServer, type TestServer } from "../../helpers/test-server.js";

let now = Date.parse("2026-11-26T12:00:00Z");
let server: TestServer;
let tokens: grpc.Client;
let admin: grpc.Client;
let bearer: Record<string, string>;
let alice: { clientId: string; clientSecret: string };
let bob: { clientId: string; clientSecret: string };
let rs: { clientId: string; clientSecret: string }; // a resource server allowed to introspect

const form = (params: Record<string, string>) => new URLSearchParams(params);

async function post(path: string, body: URLSearchParams, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body,
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

async function tokenFor(c: { clientId: string; clientSecret: string }): Promise<string> {
  const r = await post("/oauth/token", form({ grant_type: "client_credentials" }), { authorization: basic(c.clientId, c.clientSecret) });
  expect(r.status).toBe(200);
  return r.body.access_token as string;
}

const introspectHttp = (token: string, caller = rs) =>
  post("/oauth/introspect", form({ token }), { authorization: basic(caller.clientId, caller.clientSecret) });

const introspectGrpc = (token: string, caller = rs) =>
  unary<Record<string, unknown>>(tokens, "IntrospectToken", { token }, { authorization: basic(caller.clientId, caller.clientSecret) });

beforeAll(async () => {
  server = await startTestServer({ clock: () => now });
  tokens = grpcClient("TokenService", server.port);
  admin = grpcClient("ClientAdmin", server.port);
  alice = await server.createClient({ name: "alice", scopes: ["read", "write"], audiences: ["https://api.example.com"] });
  bob = await server.createClient({ name: "bob", scopes: ["read"] });
  rs = await server.createClient({ name: "resource server", scopes: [INTROSPECT_SCOPE] });
  const a = await server.admin();
  bearer = { authorization: `Bearer ${await tokenFor(a)}` };
});
afterAll(async () => {
  tokens?.close();
  admin?.close();
  await server?.stop();
});

describe("introspection (RFC 7662), both doors", () => {
  it("an active token: exactly the RFC 7662 fields, over HTTP and gRPC", async () => {
    const t = await tokenFor(alice);
    const r = await introspectHttp(t);
    expect(r.status).toBe(200);
    expect(r.headers.get("cache-control")).toBe("no-store");
    expect(Object.keys(r.body).sort()).toEqual(["active", "aud", "client_id", "exp", "iat", "iss", "jti", "scope", "sub", "token_type"]);
    expect(r.body).toMatchObject({
      active: true,
      scope: "read write",
      client_id: alice.clientId,
      sub: alice.clientId,
      aud: "https://api.example.com",
      iss: server.issuer,
      token_type: "Bearer",
      iat: Math.floor(now / 1000),
      exp: Math.floor(now / 1000) + 3600,
    });
    const g = await introspectGrpc(t);
    expect(g).toMatchObject({
      active: true,
      scope: "read write",
      client_id: alice.clientId,
      aud: ["https://api.example.com"],
      jti: r.body.jti,
    });
    expect(g.exp).toBe(String(r.body.exp));
  });

  it("anything that is not an active token is exactly {active:false}", async () => {
    const t = await tokenFor(alice);
    const [h, p, sig] = t.split(".");
    const tampered = `${h}.${p}.${sig!.slice(0, -4)}AAAA`;
    const otherPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, "base64url").toString()), scope: "admin" })).toString(
      "base64url",
    );
    for (const bad of ["garbage", "a.b.c", tampered, `${h}.${otherPayload}.${sig}`, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."]) {
      const r = await introspectHttp(bad);
      expect(r.status, bad).toBe(200);
      expect(r.body).toEqual({ active: false });
      expect(await introspectGrpc(bad)).toMatchObject({ active: false, client_id: "", scope: "" });
    }
    // Expired: move the clock past exp.
    const saved = now;
    now += 3601_000;
    try {
      expect((await introspectHttp(t)).body).toEqual({ active: false });
    } finally {
      now = saved;
    }
  });

  it("needs a client with tessera:introspect: 401 unknown caller, 403 known caller without the scope", async () => {
    const t = await tokenFor(alice);
    const unknown = await post("/oauth/introspect", form({ token: t }), { authorization: basic("nobody", "nothing") });
    expect(unknown.status).toBe(401);
    expect(unknown.body.error).toBe("invalid_client");
    const noScope = await introspectHttp(t, bob);
    expect(noScope.status).toBe(403);
    expect(noScope.body.error).toBe("insufficient_scope");
    expect(noScope.headers.get("cache-control")).toBe("no-store");
    expect((await failure(introspectGrpc(t, { clientId: "nobody", clientSecret: "x" }))).code).toBe(grpc.status.UNAUTHENTICATED);
    expect(await failure(introspectGrpc(t, bob))).toMatchObject({ code: grpc.status.PERMISSION_DENIED, reason: "insufficient_scope" });
  });
});

describe("revocation (RFC 7009), both doors", () => {
  it("a client revokes its own token over HTTP; it is then inactive", async () => {
    const t = await tokenFor(alice);
    const r = await post("/oauth/revoke", form({ token: t, token_type_hint: "access_token" }), {
      authorization: basic(alice.clientId, alice.clientSecret),
    });
    expect(r.status).toBe(200);
    expect(r.headers.get("cache-control")).toBe("no-store");
    expect((await introspectHttp(t)).body).toEqual({ active: false });
  });

  it("a client revokes its own token over gRPC; it is then inactive", async () => {
    const t = await tokenFor(alice);
    await unary(tokens, "RevokeToken", { client_id: alice.clientId, client_secret: alice.clientSecret, token: t });
    expect((await introspectGrpc(t)).active).toBe(false);
  });

  it("another client's token is refused and stays active", async () => {
    const t = await tokenFor(alice);
    const r = await post("/oauth/revoke", form({ token: t }), { authorization: basic(bob.clientId, bob.clientSecret) });
    expect(r.status).toBe(400);
    expect(r.body.error).toBe("unauthorized_client");
    const g = await failure(unary(tokens, "RevokeToken", { client_id: bob.clientId, client_secret: bob.clientSecret, token: t }));
    expect(g).toMatchObject({ code: grpc.status.PERMISSION_DENIED, reason: "unauthorized_client" });
    expect((await introspectHttp(t)).body.active).toBe(true);
  });

  it("unknown, malformed or expired tokens answer 200 and change nothing", async () => {
    const t = await tokenFor(bob);
    const saved = now;
    now += 3601_000;
    try {
      expect((await post("/oauth/revoke", form({ token: t }), { authorization: basic(bob.clientId, bob.clientSecret) })).status).toBe(200);
    } finally {
      now = saved;
    }
    for (const bad of ["garbage", "a.b.c"]) {
      expect((await post("/oauth/revoke", form({ token: bad }), { authorization: basic(bob.clientId, bob.clientSecret) })).status).toBe(
        200,
      );
      await unary(tokens, "RevokeToken", { client_id: bob.clientId, client_secret: bob.clientSecret, token: bad });
    }
    expect(await server.running.storage.isTokenRevoked("garbage")).toBe(false);
  });

  it("revocation needs client authentication like the token endpoint", async () => {
    const t = await tokenFor(alice);
    const r = await post("/oauth/revoke", form({ token: t }), { authorization: basic(alice.clientId, "wrong") });
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toMatch(/^Basic realm=/);
    const missing = await post("/oauth/revoke", form({}), { authorization: basic(alice.clientId, alice.clientSecret) });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe("invalid_request");
  });

  it("the deny-list entry lives exactly as long as the token", async () => {
    const t = await tokenFor(bob);
    const jti = JSON.parse(Buffer.from(t.split(".")[1]!, "base64url").toString()).jti as string;
    await post("/oauth/revoke", form({ token: t }), { authorization: basic(bob.clientId, bob.clientSecret) });
    expect(await server.running.storage.isTokenRevoked(jti)).toBe(true);
    const saved = now;
    try {
      now += 3600_000 + 5 * 60_000 + 1000; // past exp plus the clock skew allowance
      await server.running.maintain();
      expect(await server.running.storage.isTokenRevoked(jti)).toBe(false);
    } finally {
      now = saved;
    }
  });
});

describe("client cut-off", () => {
  it("RevokeClientTokens makes earlier tokens inactive; a token issued right after is active", async () => {
    const c = await server.createClient({ name: "cutoff", scopes: ["read"] });
    const before = await tokenFor(c);
    const res = await unary<{ client: { tokens_not_before: { seconds: string } } }>(
      admin,
      "RevokeClientTokens",
      { client_id: c.clientId },
      bearer,
    );
    expect(Number(res.client.tokens_not_before.seconds) * 1000).toBeGreaterThan(now);
    const after = await tokenFor(c); // same (fake) second as the cut-off
    expect((await introspectHttp(before)).body).toEqual({ active: false });
    expect((await introspectHttp(after)).body.active).toBe(true);
  });

  it("disabling a client makes its tokens inactive; deleting it too", async () => {
    const c1 = await server.createClient({ name: "to-disable" });
    const c2 = await server.createClient({ name: "to-delete" });
    const t1 = await tokenFor(c1);
    const t2 = await tokenFor(c2);
    await unary(
      admin,
      "UpdateClient",
      { client: { client_id: c1.clientId, disabled: true }, update_mask: { paths: ["disabled"] } },
      bearer,
    );
    await unary(admin, "DeleteClient", { client_id: c2.clientId }, bearer);
    expect((await introspectHttp(t1)).body).toEqual({ active: false });
    expect((await introspectHttp(t2)).body).toEqual({ active: false });
    // Re-enabling does not bring the old tokens back.
    await unary(
      admin,
      "UpdateClient",
      { client: { client_id: c1.clientId, disabled: false }, update_mask: { paths: ["disabled"] } },
      bearer,
    );
    expect((await introspectHttp(t1)).body).toEqual({ active: false });
  });

  it("a revoked admin token is refused by ClientAdmin", async () => {
    const a = await server.admin();
    const t = await tokenFor(a);
    await post("/oauth/revoke", form({ token: t }), { authorization: basic(a.clientId, a.clientSecret) });
    const f = await failure(unary(admin, "ListClients", {}, { authorization: `Bearer ${t}` }));
    expect(f.code).toBe(grpc.status.UNAUTHENTICATED);
  });
});

describe("metadata", () => {
  it("lists the revocation and introspection endpoints, their auth methods, and the algorithms in use", async () => {
    const m = (await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(m).toMatchObject({
      revocation_endpoint: `${server.issuer}/oauth/revoke`,
      introspection_endpoint: `${server.issuer}/oauth/introspect`,
      revocation_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "private_key_jwt"],
      introspection_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "private_key_jwt"],
      access_token_signing_alg_values_supported: ["ES256"],
    });
    // RFC 8414 §2: the algorithms accepted for private_key_jwt assertions, at each endpoint that authenticates clients.
    const assertionAlgs = ["ES256", "ES384", "ES512", "EdDSA", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"];
    for (const endpoint of ["token", "revocation", "introspection"]) {
      expect(m[`${endpoint}_endpoint_auth_signing_alg_values_supported`]).toEqual(assertionAlgs);
    }
    expect(m.token_endpoint_auth_methods_supported).toEqual(["client_secret_basic", "client_secret_post", "private_key_jwt"]);
  });
});
