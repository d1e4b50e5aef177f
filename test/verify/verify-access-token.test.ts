import { createHmac } from "node:crypto";
import { base64url } from "jose";
import { beforeEach, describe, expect, it } from "vitest";
import { BearerTokenError, KeySetUnavailableError } from "../../src/verify/errors.js";
import { IssuerKeys } from "../../src/verify/issuer-keys.js";
import { type VerifyOptions, verifyAccessToken } from "../../src/verify/verify-access-token.js";
import { type FakeIssuer, fakeIssuer } from "./fake-issuer.js";

let iss: FakeIssuer;
let options: VerifyOptions;
beforeEach(async () => {
  iss = await fakeIssuer();
  options = { issuer: iss.issuer, audience: "https://api.test", keys: new IssuerKeys({ issuer: iss.issuer, fetch: iss.fetch }) };
});

async function refusal(p: Promise<unknown>): Promise<BearerTokenError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(BearerTokenError);
  return e as BearerTokenError;
}

/** A compact JWS with the given header and payload and an arbitrary signature. */
function forge(header: object, payload: object, signature = ""): string {
  const enc = (o: object) => base64url.encode(JSON.stringify(o));
  return `${enc(header)}.${enc(payload)}.${signature}`;
}

describe("verifyAccessToken", () => {
  it("accepts a valid token and returns its claims with the scopes split", async () => {
    const claims = await verifyAccessToken(await iss.sign(), { ...options, requiredScopes: ["read"] });
    expect(claims).toMatchObject({
      iss: iss.issuer,
      sub: "tcl_1",
      aud: ["https://api.test"],
      clientId: "tcl_1",
      scopes: ["read", "write"],
    });
  });

  it("accepts a token whose aud array contains one of ours", async () => {
    const token = await iss.sign({ aud: ["https://x.test", "https://api.test"] });
    expect((await verifyAccessToken(token, { ...options, audience: ["https://y.test", "https://api.test"] })).aud).toHaveLength(2);
  });

  const cases: Array<[string, () => Promise<string>, string]> = [
    ["expired", () => iss.sign({ exp: Math.floor(Date.now() / 1000) - 60 }), "The access token expired"],
    ["not yet valid", () => iss.sign({ nbf: Math.floor(Date.now() / 1000) + 600 }), "The access token is not valid yet (nbf)"],
    ["for another audience", () => iss.sign({ aud: "https://other.test" }), "The access token is not meant for this resource server (aud)"],
    ["from another issuer", () => iss.sign({ iss: "https://evil.test" }), "The access token is from another issuer"],
    [
      "a plain JWT (typ JWT), such as an ID token",
      () => iss.sign({}, { typ: "JWT" }),
      "The token is not an access token (typ must be at+jwt)",
    ],
    ["without client_id", () => iss.sign({ client_id: undefined }), "The access token's client_id claim is missing or wrong"],
    ["signed by an unknown key", async () => iss.sign({}, {}, await iss.addKey(false)), "The access token was signed with an unknown key"],
    ["not a JWT", async () => "not-a-jwt", "The access token is not a JWT"],
  ];
  for (const [what, make, message] of cases) {
    it(`refuses a token ${what}`, async () => {
      const err = await refusal(verifyAccessToken(await make(), options));
      expect([err.code, err.message]).toEqual(["invalid_token", message]);
    });
  }

  it("refuses a tampered payload", async () => {
    const [h, , s] = (await iss.sign()).split(".");
    const token = `${h}.${base64url.encode(JSON.stringify({ iss: iss.issuer, sub: "tcl_admin", aud: "https://api.test", scope: "admin" }))}.${s}`;
    expect((await refusal(verifyAccessToken(token, options))).message).toBe("The access token's signature is invalid");
  });

  it("refuses alg none before looking for a key", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = forge(
      { alg: "none", typ: "at+jwt" },
      { iss: iss.issuer, sub: "x", aud: "https://api.test", exp: now + 60, iat: now, jti: "j", client_id: "x" },
    );
    expect((await refusal(verifyAccessToken(token, options))).message).toBe("The access token's algorithm none is not accepted");
    expect(iss.hits["/.well-known/jwks.json"]).toBeUndefined();
  });

  it("refuses HS256 signed with the public key as the secret (algorithm confusion)", async () => {
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: "HS256", typ: "at+jwt", kid: iss.kid() };
    const payload = { iss: iss.issuer, sub: "x", aud: "https://api.test", exp: now + 60, iat: now, jti: "j", client_id: "x" };
    const unsigned = forge(header, payload).slice(0, -1);
    const mac = createHmac("sha256", JSON.stringify(iss.publicJwk())).update(unsigned).digest("base64url");
    expect((await refusal(verifyAccessToken(`${unsigned}.${mac}`, options))).code).toBe("invalid_token");
  });

  it("refuses to be configured with none or HS* in the allow-list", async () => {
    for (const algorithms of [["ES256", "none"], ["HS256"]]) {
      await expect(verifyAccessToken(await iss.sign(), { ...options, algorithms })).rejects.toThrow(/algorithms must be asymmetric/);
    }
  });

  it("refuses a token lacking a required scope with insufficient_scope naming all required", async () => {
    const err = await refusal(verifyAccessToken(await iss.sign({ scope: "read" }), { ...options, requiredScopes: ["read", "admin"] }));
    expect([err.code, err.message, err.requiredScopes]).toEqual([
      "insufficient_scope",
      "The access token lacks the scope admin",
      ["read", "admin"],
    ]);
  });

  it("allows 30 s of clock skew on exp by default, and no more", async () => {
    const now = Date.now();
    const token = await iss.sign({ exp: Math.floor(now / 1000) });
    await expect(verifyAccessToken(token, { ...options, clock: () => now + 25_000 })).resolves.toMatchObject({
      sub: "tcl_1",
      exp: Math.floor(now / 1000),
    });
    expect((await refusal(verifyAccessToken(token, { ...options, clock: () => now + 35_000 }))).message).toBe("The access token expired");
  });

  // What only a holder of a leaked signing key makes: tokens that claim to be issued later, or
  // to live longer, so that a revocation or key rotation made meanwhile cannot reach them.
  it("refuses an iat more than the clock skew in the future; accepts one within it", async () => {
    const now = Date.now();
    const at = (ahead: number) => iss.sign({ iat: Math.floor(now / 1000) + ahead, exp: Math.floor(now / 1000) + ahead + 600 });
    await expect(verifyAccessToken(await at(30), { ...options, clock: () => now })).resolves.toMatchObject({
      sub: "tcl_1",
      iat: Math.floor(now / 1000) + 30,
    });
    const err = await refusal(verifyAccessToken(await at(31), { ...options, clock: () => now }));
    expect([err.code, err.message]).toEqual(["invalid_token", "The access token's issue time (iat) is in the future"]);
    const year = await refusal(verifyAccessToken(await at(365 * 86400), { ...options, clock: () => now }));
    expect(year.message).toBe("The access token's issue time (iat) is in the future");
    // The skew is the one configured for exp and nbf.
    await expect(verifyAccessToken(await at(90), { ...options, clock: () => now, clockToleranceSeconds: 120 })).resolves.toMatchObject({
      iat: Math.floor(now / 1000) + 90,
    });
  });

  it("refuses a lifetime (exp - iat) over 24 h, the longest Tessera issues, unless told to accept longer", async () => {
    const iat = Math.floor(Date.now() / 1000) - 10;
    await expect(verifyAccessToken(await iss.sign({ iat, exp: iat + 86_400 }), options)).resolves.toMatchObject({
      sub: "tcl_1",
      exp: iat + 86_400,
    });
    const long = await iss.sign({ iat, exp: iat + 86_401 });
    const err = await refusal(verifyAccessToken(long, options));
    expect([err.code, err.message]).toEqual([
      "invalid_token",
      "The access token's lifetime (exp - iat) is longer than this resource server accepts",
    ]);
    await expect(verifyAccessToken(long, { ...options, maxTokenLifetimeSeconds: 7 * 86_400 })).resolves.toMatchObject({
      exp: iat + 86_401,
    });
    // And stricter, for a resource server that only ever sees short tokens.
    expect(
      (await refusal(verifyAccessToken(await iss.sign({ iat, exp: iat + 3600 }), { ...options, maxTokenLifetimeSeconds: 900 }))).code,
    ).toBe("invalid_token");
  });

  it("discovers the keys from the issuer's metadata when no key set is given", async () => {
    const keys = new IssuerKeys({ issuer: iss.issuer, fetch: iss.fetch });
    await expect(verifyAccessToken(await iss.sign(), { ...options, keys })).resolves.toMatchObject({ sub: "tcl_1" });
    expect(iss.hits).toEqual({ "/.well-known/oauth-authorization-server": 1, "/.well-known/jwks.json": 1 });
  });

  it("answers KeySetUnavailableError, not invalid_token, when the keys cannot be fetched", async () => {
    iss.breakDown();
    await expect(verifyAccessToken(await iss.sign(), options)).rejects.toBeInstanceOf(KeySetUnavailableError);
  });
});
