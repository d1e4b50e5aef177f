import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from "jose";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { ClientAdminCore, type NewClientInput } from "../../src/core/client-admin.js";
import { generateClientSecret, hashClientSecret } from "../../src/core/client-secret.js";
import { OAuthError } from "../../src/core/errors.js";
import { type IssueTokenDeps, issueToken } from "../../src/core/issue-token.js";
import type { Storage } from "../../src/core/ports/storage.js";
import { SECRET_USE_GRANULARITY_MS, SecretUseTracker } from "../../src/core/secret-use.js";
import type { ClientAuthMethod, TokenRequest } from "../../src/core/token-request.js";
import { KeyRing } from "../../src/keys/key-ring.js";
import { MemoryStorage } from "../../src/storage/memory/memory-storage.js";
import { clientRecord } from "../helpers/client-record.js";
import { testPolicy } from "../keys/policy.js";
import { rejection } from "./rejection.js";

const ISSUER = "https://tessera.example";
// Not on a second boundary, so flooring to seconds is visible.
const START = Date.parse("2030-01-02T03:04:05.678Z");

let now = START;
const clock = () => now;

let storage: MemoryStorage;
let keyRing: KeyRing;
let admin: ClientAdminCore;
let secretUse: SecretUseTracker;
let deps: IssueTokenDeps;

beforeEach(async () => {
  now = START;
  storage = new MemoryStorage();
  keyRing = await KeyRing.open(new MemoryStorage(), { policy: testPolicy("ES256"), clock });
  admin = new ClientAdminCore(storage, clock);
  secretUse = new SecretUseTracker();
  deps = { storage, signer: keyRing, clock, issuer: ISSUER, secretUse };
});

async function newClient(input: Partial<NewClientInput> = {}): Promise<{ clientId: string; clientSecret: string }> {
  const { client, clientSecret } = await admin.create({
    clientId: input.clientId ?? "",
    name: input.name ?? "test client",
    scopes: input.scopes ?? ["read", "write", "admin"],
    audiences: input.audiences ?? ["https://api.example", "https://billing.example", "https://other.example"],
    tokenTtlSeconds: input.tokenTtlSeconds ?? 900,
  });
  return { clientId: client.clientId, clientSecret };
}

function request(
  c: { clientId: string; clientSecret: string },
  more: { scope?: string; audiences?: string[]; method?: Extract<ClientAuthMethod, `client_secret_${string}`> } = {},
): TokenRequest {
  return {
    credentials: { clientId: c.clientId, clientSecret: c.clientSecret, method: more.method ?? "client_secret_basic" },
    scope: more.scope,
    audiences: more.audiences ?? [],
  };
}

/** Verifies as a resource server would: our JWKS, our issuer, RFC 9068 typ, at the fake time. */
async function verify(token: string) {
  return jwtVerify(token, createLocalJWKSet(keyRing.jwks as JSONWebKeySet), {
    issuer: ISSUER,
    typ: "at+jwt",
    currentDate: new Date(now),
  });
}

async function issue(req: TokenRequest) {
  const response = await issueToken(deps, req);
  return { response, ...(await verify(response.access_token)) };
}

describe("issueToken: the access token", () => {
  it("verifies with jose against the JWKS; header has alg, typ at+jwt and the JWKS kid", async () => {
    const c = await newClient();
    const { response, protectedHeader } = await issue(request(c));
    expect(keyRing.jwks.keys.map((k) => k.kid)).toContain(keyRing.current.kid);
    const expectedHeader = { alg: "ES256", typ: "at+jwt", kid: keyRing.current.kid };
    expect(protectedHeader).toEqual(expectedHeader);
    expect(decodeProtectedHeader(response.access_token)).toEqual(expectedHeader);
  });

  it("carries iss, sub, client_id, aud, iat from the clock, exp = iat + ttl, a jti and the scope", async () => {
    const c = await newClient({ tokenTtlSeconds: 900, audiences: ["https://api.example"] });
    const { response, payload } = await issue(request(c));
    const iat = Math.floor(START / 1000);
    expect(payload).toEqual({
      iss: ISSUER,
      sub: c.clientId,
      client_id: c.clientId,
      aud: "https://api.example",
      iat,
      exp: iat + 900,
      jti: expect.any(String),
      scope: "read write admin",
    });
    expect(response).toEqual({
      access_token: expect.any(String),
      token_type: "Bearer",
      expires_in: 900,
      scope: "read write admin",
    });
  });

  it("gives each token its own jti", async () => {
    const c = await newClient();
    const a = await issue(request(c));
    const b = await issue(request(c));
    expect(a.payload.jti).toMatch(/\S/);
    expect(a.payload.jti).not.toBe(b.payload.jti);
  });

  it("uses the time of the fake clock, not the wall clock", async () => {
    const c = await newClient({ tokenTtlSeconds: 60 });
    now = START + 3 * 3600_000;
    const { payload } = await issue(request(c));
    expect(payload.iat).toBe(Math.floor(now / 1000));
    expect(payload.exp).toBe(Math.floor(now / 1000) + 60);
  });
});

describe("issueToken: after a client cut-off", () => {
  it("iat is never before the client's cut-off, even within the same second; exp counts from that iat", async () => {
    const c = await newClient({ tokenTtlSeconds: 60 });
    now = START + 100;
    await admin.revokeTokens(c.clientId);
    const cutoff = (Math.floor(START / 1000) + 1) * 1000;
    expect((await storage.getClient(c.clientId))!.tokensNotBefore).toBe(cutoff);

    const { payload, response } = await issue(request(c));
    expect(payload.iat).toBe(cutoff / 1000);
    expect(payload.exp).toBe(cutoff / 1000 + 60);
    expect(response.expires_in).toBe(60);

    // Once the clock has passed the cut-off, iat follows the clock again.
    now = cutoff + 2500;
    expect((await issue(request(c))).payload.iat).toBe(Math.floor(now / 1000));
  });

  it("a cut-off on another client does not move this client's iat", async () => {
    const c = await newClient();
    const other = await newClient();
    await admin.revokeTokens(other.clientId);
    expect((await issue(request(c))).payload.iat).toBe(Math.floor(START / 1000));
  });
});

describe("issueToken: after a scope was taken away, or a client id deleted", () => {
  it("a scope given back within the second it was taken: tokens carrying it get the cut-off as iat, tokens without it the clock's second", async () => {
    const c = await newClient({ scopes: ["read", "write"] });
    now = START + 100;
    await admin.update(c.clientId, { scopes: ["read"] });
    await admin.update(c.clientId, { scopes: ["read", "write"] });
    const second = Math.floor(START / 1000);
    expect((await issue(request(c, { scope: "read write" }))).payload.iat).toBe(second + 1);
    expect((await issue(request(c, {}))).payload.iat).toBe(second + 1);
    expect((await issue(request(c, { scope: "read" }))).payload.iat).toBe(second);
    now = START + 2000;
    expect((await issue(request(c, { scope: "write" }))).payload.iat).toBe(second + 2);
  });

  it("an id re-created within the second it was deleted: iat is the next second; a brand-new id keeps the clock's second", async () => {
    const c = await newClient({ clientId: "reborn" });
    now = START + 100;
    await admin.delete("reborn");
    const again = await newClient({ clientId: "reborn" });
    expect((await storage.getClient("reborn"))!.tokensNotBefore).toBe((Math.floor(START / 1000) + 1) * 1000);
    expect((await issue(request(again))).payload.iat).toBe(Math.floor(START / 1000) + 1);
    expect(again.clientSecret).not.toBe(c.clientSecret);
    expect((await issue(request(await newClient({ clientId: "brand-new" })))).payload.iat).toBe(Math.floor(START / 1000));
  });

  it("an id re-created a second or more after it was deleted starts without a cut-off in the way", async () => {
    await newClient({ clientId: "reborn" });
    await admin.delete("reborn");
    now = START + 1000;
    const again = await newClient({ clientId: "reborn" });
    expect((await issue(request(again))).payload.iat).toBe(Math.floor(now / 1000));
  });
});

describe("issueToken: scope (RFC 6749 §3.3)", () => {
  it("no scope requested: all the client's scopes", async () => {
    const c = await newClient({ scopes: ["read", "write", "admin"] });
    for (const scope of [undefined, "", "   "]) {
      const { response, payload } = await issue(request(c, scope === undefined ? {} : { scope }));
      expect(payload.scope).toBe("read write admin");
      expect(response.scope).toBe("read write admin");
    }
  });

  it("a subset requested: exactly that subset", async () => {
    const c = await newClient({ scopes: ["read", "write", "admin"] });
    const { response, payload } = await issue(request(c, { scope: "write read write" }));
    expect(String(payload.scope).split(" ").sort()).toEqual(["read", "write"]);
    expect(response.scope?.split(" ").sort()).toEqual(["read", "write"]);
  });

  it("a scope the client may not have: invalid_scope, not a narrowed token", async () => {
    const c = await newClient({ scopes: ["read"] });
    const err = await rejection(issueToken(deps, request(c, { scope: "read delete" })), OAuthError);
    expect(err.code).toBe("invalid_scope");
    expect(err.description).toContain("delete");
  });

  it("scope names are case-sensitive", async () => {
    const c = await newClient({ scopes: ["read"] });
    expect((await rejection(issueToken(deps, request(c, { scope: "READ" })), OAuthError)).code).toBe("invalid_scope");
  });

  it("a malformed scope parameter: invalid_scope", async () => {
    const c = await newClient({ scopes: ["read"] });
    expect((await rejection(issueToken(deps, request(c, { scope: 'read "x"' })), OAuthError)).code).toBe("invalid_scope");
  });

  it("a client without scopes gets a token without a scope claim", async () => {
    const c = await newClient({ scopes: [] });
    const { response, payload } = await issue(request(c));
    expect(payload).not.toHaveProperty("scope");
    expect(response).not.toHaveProperty("scope");
  });
});

describe("issueToken: audience (RFC 8707)", () => {
  it("one allowed audience requested: aud is that string", async () => {
    const c = await newClient();
    const { payload } = await issue(request(c, { audiences: ["https://billing.example"] }));
    expect(payload.aud).toBe("https://billing.example");
  });

  it("several allowed audiences requested: aud is an array of them, without repeats", async () => {
    const c = await newClient();
    const { payload } = await issue(
      request(c, { audiences: ["https://billing.example", "https://api.example", "https://billing.example"] }),
    );
    expect(payload.aud).toEqual(["https://billing.example", "https://api.example"]);
  });

  it("an audience the client may not have: invalid_target", async () => {
    const c = await newClient();
    const err = await rejection(issueToken(deps, request(c, { audiences: ["https://api.example", "https://evil.example"] })), OAuthError);
    expect(err.code).toBe("invalid_target");
    expect(err.description).toContain("https://evil.example");
  });

  it("none requested: the client's audiences", async () => {
    const many = await newClient({ audiences: ["https://a.example", "https://b.example"] });
    expect((await issue(request(many))).payload.aud).toEqual(["https://a.example", "https://b.example"]);
    const one = await newClient({ audiences: ["https://a.example"] });
    expect((await issue(request(one))).payload.aud).toBe("https://a.example");
  });

  it("none requested and the client has none: the issuer", async () => {
    const c = await newClient({ audiences: [] });
    expect((await issue(request(c))).payload.aud).toBe(ISSUER);
  });
});

describe("issueToken: client authentication (RFC 6749 §2.3.1)", () => {
  it("unknown client, wrong secret, disabled client, expired secret, missing credentials: one invalid_client", async () => {
    const good = await newClient();
    const disabled = await newClient();
    await admin.update(disabled.clientId, { disabled: true });
    // A secret whose expiry is exactly now counts as expired.
    const expiredSecret = generateClientSecret();
    await storage.createClient(
      clientRecord("expired", {
        tokenTtlSeconds: 60,
        createTime: START - 1000,
        updateTime: START - 1000,
        secrets: [
          { secretId: "sec_exp", hash: hashClientSecret(expiredSecret), createTime: START - 1000, expireTime: now, lastUsedTime: null },
        ],
      }),
    );

    const failures: Array<[string, TokenRequest]> = [
      ["unknown client", request({ clientId: "nobody", clientSecret: good.clientSecret })],
      ["wrong secret", request({ clientId: good.clientId, clientSecret: generateClientSecret() })],
      ["another client's secret", request({ clientId: good.clientId, clientSecret: disabled.clientSecret })],
      ["empty secret", request({ clientId: good.clientId, clientSecret: "" })],
      ["disabled client", request(disabled)],
      ["expired secret", request({ clientId: "expired", clientSecret: expiredSecret })],
      ["overlong client id", request({ clientId: "x".repeat(10_000), clientSecret: good.clientSecret })],
      ["missing credentials", { credentials: undefined, scope: undefined, audiences: [] }],
    ];
    const descriptions = new Set<string>();
    for (const [what, req] of failures) {
      const err = await rejection(issueToken(deps, req), OAuthError);
      expect(err.code, what).toBe("invalid_client");
      descriptions.add(err.description);
    }
    expect(descriptions.size).toBe(1);
    // The failing cases were failing for the reason named, not by accident: the good one works.
    expect((await issue(request(good))).payload.sub).toBe(good.clientId);
  });

  it("remembers how the client authenticated, for WWW-Authenticate", async () => {
    const c = await newClient();
    const basic = await rejection(issueToken(deps, request({ ...c, clientSecret: "x" }, { method: "client_secret_basic" })), OAuthError);
    const post = await rejection(issueToken(deps, request({ ...c, clientSecret: "x" }, { method: "client_secret_post" })), OAuthError);
    expect(basic.authMethod).toBe("client_secret_basic");
    expect(post.authMethod).toBe("client_secret_post");
  });

  it("rotation with 60 s grace: both secrets work until +60 s; at exactly +60 s only the new one", async () => {
    const old = await newClient();
    const { clientSecret: fresh } = await admin.rotateSecret(old.clientId, 60);
    const withNew = { clientId: old.clientId, clientSecret: fresh };

    expect((await issue(request(old))).payload.sub).toBe(old.clientId);
    expect((await issue(request(withNew))).payload.sub).toBe(old.clientId);

    now = START + 59_999;
    expect((await issue(request(old))).payload.sub).toBe(old.clientId);

    now = START + 60_000;
    expect((await rejection(issueToken(deps, request(old)), OAuthError)).code).toBe("invalid_client");
    expect((await issue(request(withNew))).payload.sub).toBe(old.clientId);
  });

  it("rotation with no grace: the old secret fails at once, the new one works", async () => {
    const old = await newClient();
    const { clientSecret: fresh } = await admin.rotateSecret(old.clientId, 0);
    expect((await rejection(issueToken(deps, request(old)), OAuthError)).code).toBe("invalid_client");
    expect((await issue(request({ clientId: old.clientId, clientSecret: fresh }))).payload.sub).toBe(old.clientId);
  });
});

/** A Storage that records the name of every method called on it. */
function recording(inner: Storage): { storage: Storage; calls: string[] } {
  const calls: string[] = [];
  const storage = new Proxy(inner, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.push(String(prop));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { storage, calls };
}

describe("issueToken: no writes on the request path", () => {
  it("a successful issuance only reads the client", async () => {
    const c = await newClient();
    const rec = recording(storage);
    await issueToken({ ...deps, storage: rec.storage }, request(c, { scope: "read", audiences: ["https://api.example"] }));
    expect(rec.calls).toEqual(["getClient"]);
  });

  it("a failed authentication only reads the client", async () => {
    const c = await newClient();
    const rec = recording(storage);
    await rejection(issueToken({ ...deps, storage: rec.storage }, request({ ...c, clientSecret: "wrong" })), OAuthError);
    expect(rec.calls).toEqual(["getClient"]);
  });
});

describe("SecretUseTracker", () => {
  const lastUsed = async (clientId: string) =>
    Object.fromEntries((await storage.getClient(clientId))!.secrets.map((s) => [s.secretId, s.lastUsedTime]));

  it("after flush, the secret used has lastUsedTime floored to the minute; others are untouched", async () => {
    const c = await newClient();
    const { client: rotated, clientSecret: fresh } = await admin.rotateSecret(c.clientId, 3600);
    const isFresh = (s: { hash: Uint8Array }) => Buffer.from(s.hash).equals(hashClientSecret(fresh));
    const newSecret = rotated.secrets.find(isFresh);
    const oldSecret = rotated.secrets.find((s) => !isFresh(s));
    now = START + 5_000;
    await issueToken(deps, request(c)); // the old secret
    expect(await lastUsed(c.clientId)).toEqual({ [newSecret!.secretId]: null, [oldSecret!.secretId]: null });

    await secretUse.flush(storage);
    const minute = now - (now % SECRET_USE_GRANULARITY_MS);
    expect(minute % 60_000).toBe(0);
    expect(await lastUsed(c.clientId)).toEqual({ [newSecret!.secretId]: null, [oldSecret!.secretId]: minute });

    now += SECRET_USE_GRANULARITY_MS;
    await issueToken(deps, request({ clientId: c.clientId, clientSecret: fresh }));
    await secretUse.flush(storage);
    expect(await lastUsed(c.clientId)).toEqual({
      [newSecret!.secretId]: minute + SECRET_USE_GRANULARITY_MS,
      [oldSecret!.secretId]: minute,
    });
  });

  it("two uses in the same minute cause one write; a use in the next minute causes another", async () => {
    const c = await newClient();
    const write = vi.spyOn(storage, "recordSecretUse");
    now = Date.parse("2030-01-02T03:04:00.000Z");
    await issueToken(deps, request(c));
    await secretUse.flush(storage);
    expect(write).toHaveBeenCalledTimes(1);

    now += 59_999;
    await issueToken(deps, request(c));
    await secretUse.flush(storage);
    expect(write).toHaveBeenCalledTimes(1);

    now += 1;
    await issueToken(deps, request(c));
    await secretUse.flush(storage);
    expect(write).toHaveBeenCalledTimes(2);
    expect([...write.mock.calls[1]![0].values()]).toEqual([Date.parse("2030-01-02T03:05:00.000Z")]);
  });

  it("a failed authentication records no use", async () => {
    const c = await newClient();
    await rejection(issueToken(deps, request({ ...c, clientSecret: "wrong" })), OAuthError);
    const write = vi.spyOn(storage, "recordSecretUse");
    await secretUse.flush(storage);
    expect(write).not.toHaveBeenCalled();
    expect(Object.values(await lastUsed(c.clientId))).toEqual([null]);
  });

  it("a use whose write failed is written by the next flush", async () => {
    const c = await newClient();
    await issueToken(deps, request(c));
    const write = vi.spyOn(storage, "recordSecretUse").mockRejectedValueOnce(new Error("SQLITE_BUSY"));
    await expect(secretUse.flush(storage)).rejects.toThrow("SQLITE_BUSY");
    await secretUse.flush(storage);
    expect(write).toHaveBeenCalledTimes(2);
    expect(Object.values(await lastUsed(c.clientId))).toEqual([START - (START % SECRET_USE_GRANULARITY_MS)]);
  });
});
