import { generateKeyPairSync } from "node:crypto";
import { importJWK, type JSONWebKeySet, type JWK, SignJWT, UnsecuredJWT } from "jose";
import { beforeEach, describe, expect, it } from "vitest";
import { ADMIN_SCOPE, type AdminAuthDeps, authorizeAdmin } from "../../src/core/admin-auth.js";
import { ClientAdminCore, MAX_TOKEN_TTL_SECONDS } from "../../src/core/client-admin.js";
import { AdminError } from "../../src/core/errors.js";
import { issueToken } from "../../src/core/issue-token.js";
import { revokeToken } from "../../src/core/revoke-token.js";
import { SecretUseTracker } from "../../src/core/secret-use.js";
import { KeyRing } from "../../src/keys/key-ring.js";
import { MemoryStorage } from "../../src/storage/memory/memory-storage.js";
import { testPolicy } from "../keys/policy.js";
import { rejection } from "./rejection.js";

const ISSUER = "https://tessera.example";
const START = Date.parse("2030-01-02T03:04:05.678Z");
let now = START;
const clock = () => now;

let storage: MemoryStorage;
let keyStorage: MemoryStorage;
let keyRing: KeyRing;
let admin: ClientAdminCore;
let deps: AdminAuthDeps;
let adminClient: { clientId: string; clientSecret: string };

beforeEach(async () => {
  now = START;
  storage = new MemoryStorage();
  keyStorage = new MemoryStorage();
  keyRing = await KeyRing.open(keyStorage, { policy: testPolicy("ES256"), clock });
  admin = new ClientAdminCore(storage, clock);
  deps = { jwks: () => keyRing.jwks as JSONWebKeySet, keys: keyRing, issuer: ISSUER, storage, clock };
  adminClient = await newClient([ADMIN_SCOPE, "read"], [], 60);
});

async function newClient(scopes: string[], audiences: string[] = [], ttl = 600) {
  const { client, clientSecret } = await admin.create({ clientId: "", name: "c", scopes, audiences, tokenTtlSeconds: ttl });
  return { clientId: client.clientId, clientSecret };
}

/** A token from our own token endpoint logic (optionally with another signer or issuer). */
async function tokenFor(
  c: { clientId: string; clientSecret: string },
  opts: { scope?: string; audiences?: string[]; signer?: KeyRing; issuer?: string } = {},
): Promise<string> {
  const res = await issueToken(
    { storage, signer: opts.signer ?? keyRing, clock, issuer: opts.issuer ?? ISSUER, secretUse: new SecretUseTracker() },
    {
      credentials: { ...c, method: "client_secret_basic" },
      scope: opts.scope,
      audiences: opts.audiences ?? [],
    },
  );
  return res.access_token;
}

async function authError(token: string | undefined): Promise<AdminError> {
  return rejection(authorizeAdmin(deps, token), AdminError);
}

/** Claims exactly like ours, for tokens this test signs itself. */
function ourClaims(clientId: string) {
  const iat = Math.floor(now / 1000);
  return { iss: ISSUER, sub: clientId, client_id: clientId, aud: ISSUER, iat, exp: iat + 60, jti: "j", scope: ADMIN_SCOPE };
}

describe("authorizeAdmin", () => {
  it("a valid admin token: the principal is its client and scopes", async () => {
    const principal = await authorizeAdmin(deps, await tokenFor(adminClient));
    expect(principal).toEqual({ clientId: adminClient.clientId, scopes: [ADMIN_SCOPE, "read"] });
  });

  it("missing token: unauthenticated", async () => {
    expect((await authError(undefined)).code).toBe("unauthenticated");
    expect((await authError("")).code).toBe("unauthenticated");
  });

  it.each([["garbage"], ["a.b.c"], ["eyJhbGciOiJFUzI1NiJ9.e30."]])("garbage %j: unauthenticated", async (token) => {
    expect((await authError(token)).code).toBe("unauthenticated");
  });

  it("a token signed by another key ring: unauthenticated", async () => {
    const other = await KeyRing.open(new MemoryStorage(), { policy: testPolicy("ES256"), clock });
    const token = await tokenFor(adminClient, { signer: other });
    expect((await authError(token)).code).toBe("unauthenticated");
  });

  it("a token claiming our kid but signed with another key: unauthenticated", async () => {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const token = await new SignJWT(ourClaims(adminClient.clientId))
      .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: keyRing.current.kid })
      .sign(privateKey);
    expect((await authError(token)).code).toBe("unauthenticated");
  });

  it("an unsigned (alg none) token: unauthenticated", async () => {
    const token = new UnsecuredJWT(ourClaims(adminClient.clientId)).encode();
    expect((await authError(token)).code).toBe("unauthenticated");
  });

  it("a token signed with our key but typ JWT rather than at+jwt (RFC 9068 §4): unauthenticated", async () => {
    // Proves the rest of the token is acceptable: same key, same claims, typ at+jwt works.
    const stored = (await keyStorage.listSigningKeys()).find((k) => k.status === "current");
    const key = await importJWK(JSON.parse(stored!.privateKey) as JWK, "ES256");
    const sign = (typ: string) =>
      new SignJWT(ourClaims(adminClient.clientId)).setProtectedHeader({ alg: "ES256", typ, kid: stored!.kid }).sign(key);
    expect((await authorizeAdmin(deps, await sign("at+jwt"))).clientId).toBe(adminClient.clientId);
    expect((await authError(await sign("JWT"))).code).toBe("unauthenticated");
  });

  it("expired (the fake clock reaches exp): unauthenticated", async () => {
    const token = await tokenFor(adminClient); // ttl 60 s
    const exp = (Math.floor(START / 1000) + 60) * 1000;
    now = exp - 1;
    expect((await authorizeAdmin(deps, token)).clientId).toBe(adminClient.clientId);
    now = exp;
    expect((await authError(token)).code).toBe("unauthenticated");
    now = START + 60_000 + 31_000;
    expect((await authError(token)).code).toBe("unauthenticated");
    now = START + 24 * 3600_000;
    expect((await authError(token)).code).toBe("unauthenticated");
  });

  it("a token from another issuer, even signed with our key: unauthenticated", async () => {
    const token = await tokenFor(adminClient, { issuer: "https://other-issuer.example" });
    expect((await authError(token)).code).toBe("unauthenticated");
  });

  it("a valid token without tessera:admin: permission_denied", async () => {
    const reader = await newClient(["read"]);
    const err = await authError(await tokenFor(reader));
    expect(err.code).toBe("permission_denied");
    expect(err.message).toContain(ADMIN_SCOPE);
  });

  it("an admin client's token narrowed to other scopes: permission_denied", async () => {
    expect((await authError(await tokenFor(adminClient, { scope: "read" }))).code).toBe("permission_denied");
  });

  it("a scope that merely contains tessera:admin is not it: permission_denied", async () => {
    const sneaky = await newClient(["tessera:admin2", "xtessera:admin"]);
    expect((await authError(await tokenFor(sneaky))).code).toBe("permission_denied");
  });

  it("the admin client disabled after the token was issued: unauthenticated, and re-enabling does not revive the token", async () => {
    const token = await tokenFor(adminClient);
    expect((await authorizeAdmin(deps, token)).clientId).toBe(adminClient.clientId);
    await admin.update(adminClient.clientId, { disabled: true });
    expect((await authError(token)).code).toBe("unauthenticated");
    // Disabling cut the client's tokens off: they stay inactive after it is enabled again.
    await admin.update(adminClient.clientId, { disabled: false });
    expect((await authError(token)).code).toBe("unauthenticated");
    expect((await authorizeAdmin(deps, await tokenFor(adminClient))).clientId).toBe(adminClient.clientId);
  });

  it("a revoked admin token: unauthenticated; the client's other tokens still work", async () => {
    const token = await tokenFor(adminClient);
    const other = await tokenFor(adminClient);
    expect((await authorizeAdmin(deps, token)).clientId).toBe(adminClient.clientId);
    await revokeToken({ ...deps, secretUse: new SecretUseTracker() }, { ...adminClient, method: "client_secret_basic" }, token);
    expect((await authError(token)).code).toBe("unauthenticated");
    expect((await authorizeAdmin(deps, other)).clientId).toBe(adminClient.clientId);
  });

  it("the admin client cut off (revokeTokens): its tokens are unauthenticated, a token issued afterwards works", async () => {
    const token = await tokenFor(adminClient);
    now += 400; // still within the same second as the token's iat
    await admin.revokeTokens(adminClient.clientId);
    expect((await authError(token)).code).toBe("unauthenticated");
    expect((await authorizeAdmin(deps, await tokenFor(adminClient))).clientId).toBe(adminClient.clientId);
  });

  it("the admin client deleted after the token was issued: unauthenticated", async () => {
    const token = await tokenFor(adminClient);
    await admin.delete(adminClient.clientId);
    expect((await authError(token)).code).toBe("unauthenticated");
  });

  it("a token signed by a key that was rotated out but is still published keeps working", async () => {
    now = START + keyRing.policy.prepublishMs; // the next key may sign from now on
    const token = await tokenFor(adminClient);
    const signedBy = keyRing.current.kid;
    expect(await keyRing.maintain({ rotate: true, force: false })).toBe(true);
    expect(keyRing.current.kid).not.toBe(signedBy);
    expect(keyRing.jwks.keys.map((k) => k.kid)).toContain(signedBy); // retired, current, next
    expect((await authorizeAdmin(deps, token)).clientId).toBe(adminClient.clientId);
  });

  it("a token of the longest lifetime, signed just before a rotation, works until its own exp", async () => {
    const c = await newClient([ADMIN_SCOPE], [], MAX_TOKEN_TTL_SECONDS);
    now = START + keyRing.policy.prepublishMs;
    const token = await tokenFor(c);
    await keyRing.maintain({ rotate: true, force: false });
    const exp = (Math.floor(now / 1000) + MAX_TOKEN_TTL_SECONDS) * 1000;
    now = exp - 1;
    await keyRing.maintain(); // the retired key is not dropped while a token of it can be unexpired
    expect((await authorizeAdmin(deps, token)).clientId).toBe(c.clientId);
    now = exp;
    expect((await authError(token)).code).toBe("unauthenticated");
  });

  it("a deleted admin client re-created with the same id and no admin scope: the old token stays unauthenticated", async () => {
    const { clientSecret } = await admin.create({
      clientId: "ops",
      name: "ops",
      scopes: [ADMIN_SCOPE],
      audiences: [],
      tokenTtlSeconds: 600,
    });
    const token = await tokenFor({ clientId: "ops", clientSecret });
    await admin.delete("ops");
    expect((await authError(token)).code).toBe("unauthenticated");
    now += 1000;
    await admin.create({ clientId: "ops", name: "ops again", scopes: ["read"], audiences: [], tokenTtlSeconds: 600 });
    expect((await authError(token)).code).toBe("unauthenticated");
  });

  it.each([
    ["within the same second", 100],
    ["one second later", 1100],
  ])(
    "a deleted admin client re-created with the same id and the same scopes %s: the old token stays unauthenticated, the new one works",
    async (_when, later) => {
      const { clientSecret } = await admin.create({
        clientId: "ops",
        name: "ops",
        scopes: [ADMIN_SCOPE],
        audiences: [],
        tokenTtlSeconds: 600,
      });
      const token = await tokenFor({ clientId: "ops", clientSecret });
      await admin.delete("ops");
      now = START + later;
      const again = await admin.create({ clientId: "ops", name: "ops again", scopes: [ADMIN_SCOPE], audiences: [], tokenTtlSeconds: 600 });
      expect((await authError(token)).code).toBe("unauthenticated");
      const fresh = await tokenFor({ clientId: "ops", clientSecret: again.clientSecret });
      expect(await authorizeAdmin(deps, fresh)).toEqual({ clientId: "ops", scopes: [ADMIN_SCOPE] });
      expect((await authError(token)).code).toBe("unauthenticated");
    },
  );

  it.each([
    ["within the same second", 100],
    ["one second later", 1000],
    ["an hour later", 3600_000],
  ])(
    "tessera:admin taken away and given back %s (after rotating a leaked secret): a stolen admin token stays unauthenticated",
    async (_when, later) => {
      const c = await newClient([ADMIN_SCOPE, "read"], [], 2 * 3600);
      const stolen = await tokenFor(c);
      now = START + 50;
      await admin.update(c.clientId, { scopes: ["read"] });
      expect((await authError(stolen)).code).toBe("unauthenticated");
      const rotated = await admin.rotateSecret(c.clientId, 0);
      now = START + 50 + later;
      await admin.update(c.clientId, { scopes: [ADMIN_SCOPE, "read"] });
      expect((await authError(stolen)).code).toBe("unauthenticated");
      // Tokens issued after the scope came back carry it and work.
      const fresh = await tokenFor({ clientId: c.clientId, clientSecret: rotated.clientSecret });
      expect((await authorizeAdmin(deps, fresh)).clientId).toBe(c.clientId);
      expect((await authError(stolen)).code).toBe("unauthenticated");
    },
  );

  // RFC 9068 §4: ClientAdmin only accepts tokens whose aud names the issuer.
  it("a tessera:admin token for another audience: unauthenticated", async () => {
    const multi = await newClient([ADMIN_SCOPE], ["https://api.example"]);
    const token = await tokenFor(multi, { audiences: ["https://api.example"] });
    expect((await authError(token)).code).toBe("unauthenticated");
  });
});
