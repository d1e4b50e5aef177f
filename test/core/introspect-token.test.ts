import { generateKeyPairSync } from "node:crypto";
import { importJWK, type JWK, SignJWT, UnsecuredJWT } from "jose";
import { beforeEach, describe, expect, it } from "vitest";
import { OAuthError } from "../../src/core/errors.js";
import { INTROSPECT_SCOPE, introspectToken } from "../../src/core/introspect-token.js";
import { revokeToken } from "../../src/core/revoke-token.js";
import { rejection } from "./rejection.js";
import { ISSUER, payloadOf, START, type TestClient, tokenWorld } from "./token-world.js";

let w: Awaited<ReturnType<typeof tokenWorld>>;
let introspector: TestClient;
let client: TestClient;

beforeEach(async () => {
  w = await tokenWorld();
  introspector = await w.newClient([INTROSPECT_SCOPE]);
  client = await w.newClient(["read", "write"], ["https://api.example", "https://billing.example"], 600);
});

const introspect = (token: string | undefined, caller: TestClient | undefined = introspector) =>
  introspectToken(w.deps, caller?.credentials, token);

const INACTIVE = { active: false };

describe("introspectToken: the caller", () => {
  it("a client without tessera:introspect: insufficient_scope, for valid and invalid tokens alike", async () => {
    const token = await w.tokenFor(client);
    for (const t of [token, "garbage"]) {
      const err = await rejection(introspect(t, client), OAuthError);
      expect(err.code).toBe("insufficient_scope");
      expect(err.description).toContain(INTROSPECT_SCOPE);
    }
  });

  it("wrong secret, unknown client, missing credentials, disabled introspector: invalid_client", async () => {
    const token = await w.tokenFor(client);
    const wrong = { ...introspector, credentials: { ...introspector.credentials, clientSecret: client.clientSecret } };
    const unknown = { ...introspector, credentials: { ...introspector.credentials, clientId: "nobody" } };
    expect((await rejection(introspect(token, wrong), OAuthError)).code).toBe("invalid_client");
    expect((await rejection(introspect(token, unknown), OAuthError)).code).toBe("invalid_client");
    expect((await rejection(introspectToken(w.deps, undefined, token), OAuthError)).code).toBe("invalid_client");
    await w.admin.update(introspector.clientId, { disabled: true });
    expect((await rejection(introspect(token), OAuthError)).code).toBe("invalid_client");
  });

  it("a missing or empty token parameter: invalid_request", async () => {
    expect((await rejection(introspect(undefined), OAuthError)).code).toBe("invalid_request");
    expect((await rejection(introspect(""), OAuthError)).code).toBe("invalid_request");
  });
});

describe("introspectToken: an active token", () => {
  it("answers exactly active, scope, client_id, sub, aud, iss, exp, iat, jti, token_type", async () => {
    const token = await w.tokenFor(client);
    const p = payloadOf(token);
    const iat = Math.floor(START / 1000);
    expect(await introspect(token)).toEqual({
      active: true,
      scope: "read write",
      client_id: client.clientId,
      sub: client.clientId,
      aud: ["https://api.example", "https://billing.example"],
      iss: ISSUER,
      exp: iat + 600,
      iat,
      jti: p.jti,
      token_type: "Bearer",
    });
  });

  it("a single audience is a string, a narrowed scope is what the token carries", async () => {
    const token = await w.tokenFor(client, { scope: "read", audiences: ["https://api.example"] });
    expect(await introspect(token)).toMatchObject({ active: true, scope: "read", aud: "https://api.example" });
  });

  it("a token without scope has no scope member", async () => {
    const bare = await w.newClient([]);
    const res = await introspect(await w.tokenFor(bare));
    expect(res).toMatchObject({ active: true, client_id: bare.clientId, aud: ISSUER });
    expect(res).not.toHaveProperty("scope");
  });

  it("the introspector may introspect its own token too", async () => {
    expect(await introspect(await w.tokenFor(introspector))).toMatchObject({ active: true, client_id: introspector.clientId });
  });

  it("a token of a rotated-out key that is still published stays active", async () => {
    w.now = START + w.keys.policy.prepublishMs;
    const token = await w.tokenFor(client);
    await w.keys.maintain({ rotate: true, force: false });
    expect(await introspect(token)).toMatchObject({ active: true });
  });
});

describe("introspectToken: inactive tokens answer exactly { active: false }", () => {
  it.each([["garbage"], ["a.b.c"], ["eyJhbGciOiJFUzI1NiJ9.e30."], ["x".repeat(10_000)]])("garbage %#", async (token) => {
    expect(await introspect(token)).toEqual(INACTIVE);
  });

  it("a tampered signature or payload", async () => {
    const token = await w.tokenFor(client);
    const [h, p, s] = token.split(".");
    const sig = Buffer.from(s!, "base64url");
    sig[0] = sig[0]! ^ 1;
    expect(await introspect(`${h}.${p}.${sig.toString("base64url")}`)).toEqual(INACTIVE);
    const claims = { ...payloadOf(token), scope: "read write admin" };
    expect(await introspect(`${h}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${s}`)).toEqual(INACTIVE);
    expect(await introspect(token)).toMatchObject({ active: true });
  });

  it("expired: active 1 ms before exp, inactive at exp", async () => {
    const token = await w.tokenFor(client);
    const exp = payloadOf(token).exp * 1000;
    w.now = exp - 1;
    expect(await introspect(token)).toMatchObject({ active: true });
    w.now = exp;
    expect(await introspect(token)).toEqual(INACTIVE);
  });

  it("revoked by its client", async () => {
    const token = await w.tokenFor(client);
    await revokeToken(w.deps, client.credentials, token);
    expect(await introspect(token)).toEqual(INACTIVE);
  });

  it("its client disabled (and still inactive after re-enabling: disabling cut the tokens off)", async () => {
    const token = await w.tokenFor(client);
    await w.admin.update(client.clientId, { disabled: true });
    expect(await introspect(token)).toEqual(INACTIVE);
    await w.admin.update(client.clientId, { disabled: false });
    expect(await introspect(token)).toEqual(INACTIVE);
    expect(await introspect(await w.tokenFor(client))).toMatchObject({ active: true });
  });

  it("its client deleted", async () => {
    const token = await w.tokenFor(client);
    await w.admin.delete(client.clientId);
    expect(await introspect(token)).toEqual(INACTIVE);
  });

  it("its client cut off with revokeTokens; a token issued right after, in the same second, is active", async () => {
    const before = await w.tokenFor(client);
    const other = await w.newClient(["read"]);
    const otherToken = await w.tokenFor(other);
    w.now = START + 100; // same second as the tokens' iat
    await w.admin.revokeTokens(client.clientId);
    expect(await introspect(before)).toEqual(INACTIVE);
    // Another client's tokens are not affected.
    expect(await introspect(otherToken)).toMatchObject({ active: true });

    const after = await w.tokenFor(client); // same millisecond as the cut-off
    expect(Math.floor(w.now / 1000)).toBe(Math.floor(START / 1000));
    const res = await introspect(after);
    expect(res).toMatchObject({ active: true, client_id: client.clientId });
    // The cut-off is the next whole second; the new token's iat is not before it.
    expect(payloadOf(after).iat).toBe(Math.floor(START / 1000) + 1);

    w.now = START + 5_000;
    expect(await introspect(before)).toEqual(INACTIVE);
    expect(await introspect(after)).toMatchObject({ active: true });
  });

  it("signed by a foreign key that claims our kid", async () => {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const claims = payloadOf(await w.tokenFor(client));
    const forged = await new SignJWT(claims).setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: w.keys.current.kid }).sign(privateKey);
    expect(await introspect(forged)).toEqual(INACTIVE);
  });

  it("unsigned (alg none)", async () => {
    const claims = payloadOf(await w.tokenFor(client));
    expect(await introspect(new UnsecuredJWT(claims).encode())).toEqual(INACTIVE);
  });

  it("signed with our key but typ JWT rather than at+jwt", async () => {
    const stored = (await w.storage.listSigningKeys()).find((k) => k.status === "current")!;
    const key = await importJWK(JSON.parse(stored.privateKey) as JWK, "ES256");
    const claims = payloadOf(await w.tokenFor(client));
    const sign = (typ: string) => new SignJWT(claims).setProtectedHeader({ alg: "ES256", typ, kid: stored.kid }).sign(key);
    expect(await introspect(await sign("at+jwt"))).toMatchObject({ active: true });
    expect(await introspect(await sign("JWT"))).toEqual(INACTIVE);
  });

  it("another issuer, even signed with our key", async () => {
    expect(await introspect(await w.tokenFor(client, { issuer: "https://other.example" }))).toEqual(INACTIVE);
  });
});

describe("introspectToken: a deleted client re-created with the same id", () => {
  async function oldClientToken(): Promise<string> {
    const old = await w.admin.create({ clientId: "billing", name: "old", scopes: ["read", "write"], audiences: [], tokenTtlSeconds: 600 });
    return w.tokenFor({
      clientId: "billing",
      clientSecret: old.clientSecret,
      credentials: { clientId: "billing", clientSecret: old.clientSecret, method: "client_secret_basic" },
    });
  }

  it("tokens of the deleted client stay inactive; the new client's tokens are active", async () => {
    const token = await oldClientToken();
    await w.admin.delete("billing");
    expect(await introspect(token)).toEqual(INACTIVE);
    w.now += 1000;
    const fresh = await w.admin.create({ clientId: "billing", name: "new", scopes: [], audiences: [], tokenTtlSeconds: 600 });
    expect(await introspect(token)).toEqual(INACTIVE);
    const newToken = await w.tokenFor({
      clientId: "billing",
      clientSecret: fresh.clientSecret,
      credentials: { clientId: "billing", clientSecret: fresh.clientSecret, method: "client_secret_basic" },
    });
    expect(await introspect(newToken)).toMatchObject({ active: true, client_id: "billing" });
  });

  it.each([
    ["within the same second", 100],
    ["one second later", 1100],
  ])("re-created with the same scopes %s: the deleted client's tokens stay inactive, the new client's are active", async (_when, later) => {
    const token = await oldClientToken(); // iat = floor(START)
    await w.admin.delete("billing");
    w.now = START + later;
    const fresh = await w.admin.create({
      clientId: "billing",
      name: "new",
      scopes: ["read", "write"],
      audiences: [],
      tokenTtlSeconds: 600,
    });
    expect(await introspect(token)).toEqual(INACTIVE);
    const newToken = await w.tokenFor({
      clientId: "billing",
      clientSecret: fresh.clientSecret,
      credentials: { clientId: "billing", clientSecret: fresh.clientSecret, method: "client_secret_basic" },
    });
    expect(await introspect(newToken)).toMatchObject({ active: true, client_id: "billing", scope: "read write" });
    expect(await introspect(token)).toEqual(INACTIVE);
  });

  it("cut off, then deleted and re-created, all within one second: a token issued between the cut-off and the deletion stays inactive", async () => {
    const old = await w.admin.create({ clientId: "billing", name: "old", scopes: ["read"], audiences: [], tokenTtlSeconds: 600 });
    const creds = {
      clientId: "billing",
      clientSecret: old.clientSecret,
      credentials: { clientId: "billing", clientSecret: old.clientSecret, method: "client_secret_basic" as const },
    };
    w.now = START + 10;
    await w.admin.revokeTokens("billing");
    w.now = START + 20;
    const between = await w.tokenFor(creds); // iat is the cut-off's second, one ahead of the clock
    expect(await introspect(between)).toMatchObject({ active: true });
    w.now = START + 30;
    await w.admin.delete("billing");
    w.now = START + 40;
    await w.admin.create({ clientId: "billing", name: "new", scopes: ["read"], audiences: [], tokenTtlSeconds: 600 });
    expect(await introspect(between)).toEqual(INACTIVE);
  });

  it("the id's cut-off is forgotten once every token of the deleted client has expired", async () => {
    await oldClientToken();
    await w.admin.delete("billing");
    w.now = START + 24 * 3600_000 + 5 * 60_000 + 1000;
    await w.storage.pruneRevokedTokens(w.now - 5 * 60_000);
    const fresh = await w.admin.create({ clientId: "billing", name: "new", scopes: ["read"], audiences: [], tokenTtlSeconds: 600 });
    expect(fresh.client.tokensNotBefore).toBeNull();
  });
});

describe("introspectToken: two cut-offs within one second", () => {
  it("a token issued between them is cut off by the second", async () => {
    w.now = START + 10;
    await w.admin.revokeTokens(client.clientId);
    w.now = START + 20;
    const between = await w.tokenFor(client);
    expect(await introspect(between)).toMatchObject({ active: true });
    w.now = START + 30;
    await w.admin.revokeTokens(client.clientId);
    expect(await introspect(between)).toEqual(INACTIVE);
    expect(await introspect(await w.tokenFor(client))).toMatchObject({ active: true });
  });
});

describe("introspectToken: a scope taken away", () => {
  it.each([
    ["within the same second", 100],
    ["one second later", 1000],
    ["an hour later", 3600_000],
  ])(
    "and given back %s: tokens carrying it stay inactive, tokens without it were never touched, new ones are active",
    async (_when, later) => {
      const client = await w.newClient(["read", "write"], [], 2 * 3600);
      const withWrite = await w.tokenFor(client, { scope: "read write" });
      const readOnly = await w.tokenFor(client, { scope: "read" });
      w.now = START + 50;
      await w.admin.update(client.clientId, { scopes: ["read"] });
      expect(await introspect(withWrite)).toEqual(INACTIVE);
      expect(await introspect(readOnly)).toMatchObject({ active: true });
      w.now = START + 50 + later;
      await w.admin.update(client.clientId, { scopes: ["read", "write"] });
      expect(await introspect(withWrite)).toEqual(INACTIVE);
      expect(await introspect(readOnly)).toMatchObject({ active: true });
      const fresh = await w.tokenFor(client, { scope: "read write" });
      expect(await introspect(fresh)).toMatchObject({ active: true, scope: "read write" });
      expect(await introspect(await w.tokenFor(client, { scope: "read" }))).toMatchObject({ active: true });
    },
  );

  it("taken away twice within a second: a token issued in between with the scope given back stays inactive", async () => {
    w.now = START + 10;
    await w.admin.update(client.clientId, { scopes: ["read"] });
    w.now = START + 20;
    await w.admin.update(client.clientId, { scopes: ["read", "write"] });
    const between = await w.tokenFor(client, { scope: "write" });
    expect(await introspect(between)).toMatchObject({ active: true });
    w.now = START + 30;
    await w.admin.update(client.clientId, { scopes: ["read"] });
    w.now = START + 40;
    await w.admin.update(client.clientId, { scopes: ["read", "write"] });
    expect(await introspect(between)).toEqual(INACTIVE);
  });

  it("a cut-off is kept only as long as a token it refuses can be unexpired", async () => {
    await w.admin.update(client.clientId, { scopes: ["read"] });
    expect((await w.storage.getClient(client.clientId))!.scopeCutoffs.map((c) => c.scope)).toEqual(["write"]);
    w.now = START + 24 * 3600_000 + 1000;
    await w.admin.update(client.clientId, { scopes: ["read", "write"] });
    expect((await w.storage.getClient(client.clientId))!.scopeCutoffs).toEqual([]);
  });
});
