import { beforeEach, describe, expect, it } from "vitest";
import { BearerTokenError, KeySetUnavailableError } from "../../src/verify/errors.js";
import { IssuerKeys } from "../../src/verify/issuer-keys.js";
import { verifyAccessToken } from "../../src/verify/verify-access-token.js";
import { type FakeIssuer, fakeIssuer } from "./fake-issuer.js";

let iss: FakeIssuer;
let now: number;
let keys: IssuerKeys;
const JWKS = "/.well-known/jwks.json";
const META = "/.well-known/oauth-authorization-server";

beforeEach(async () => {
  iss = await fakeIssuer();
  now = Date.now();
  keys = new IssuerKeys({ issuer: iss.issuer, fetch: iss.fetch, clock: () => now });
});

const verify = (token: string) => verifyAccessToken(token, { issuer: iss.issuer, audience: "https://api.test", keys });
const outcome = (token: string) =>
  verify(token).then(
    () => "ok",
    (e: unknown) => (e instanceof BearerTokenError ? e.message : e),
  );

describe("IssuerKeys", () => {
  it("discovers the JWKS once and serves every later verification from the cache", async () => {
    const token = await iss.sign();
    await Promise.all(Array.from({ length: 20 }, () => verify(token)));
    await verify(token);
    expect(iss.hits).toEqual({ [META]: 1, [JWKS]: 1 });
  });

  it("picks up a rotated-in key: an unknown kid triggers one refetch", async () => {
    await verify(await iss.sign());
    now += 60_000;
    const rotated = await iss.addKey(true);
    expect(await outcome(await iss.sign({}, {}, rotated))).toBe("ok");
    expect(iss.hits[JWKS]).toBe(2);
  });

  it("refetches for unknown kids at most once per cooldown, however many junk tokens arrive", async () => {
    await verify(await iss.sign());
    const junk = await iss.sign({}, {}, await iss.addKey(false));
    for (let i = 0; i < 10; i++) expect(await outcome(junk)).toBe("The access token was signed with an unknown key");
    expect(iss.hits[JWKS]).toBe(1); // just fetched: no refetch
    now += 30_000;
    for (let i = 0; i < 10; i++) await outcome(junk);
    expect(iss.hits[JWKS]).toBe(2);
    now += 29_999;
    await outcome(junk);
    expect(iss.hits[JWKS]).toBe(2);
  });

  it("refreshes keys older than maxAge, and keeps the old ones, without hammering, if that refresh fails", async () => {
    const token = await iss.sign();
    await verify(token);
    now += 600_001;
    await verify(token);
    expect(iss.hits).toEqual({ [META]: 1, [JWKS]: 2 });
    now += 600_001;
    iss.breakDown();
    expect(await outcome(token)).toBe("ok");
    expect(await outcome(token)).toBe("ok");
    expect(iss.hits[JWKS]).toBe(3);
    now += 30_000;
    expect(await outcome(token)).toBe("ok");
    expect(iss.hits[JWKS]).toBe(4);
  });

  it("skips discovery when given jwksUri", async () => {
    const direct = new IssuerKeys({ issuer: iss.issuer, jwksUri: `${iss.issuer}${JWKS}`, fetch: iss.fetch });
    await verifyAccessToken(await iss.sign(), { issuer: iss.issuer, audience: "https://api.test", keys: direct });
    expect(iss.hits).toEqual({ [JWKS]: 1 });
  });

  it("refuses metadata that names another issuer (RFC 8414 §3.3)", async () => {
    const impostor = new IssuerKeys({ issuer: "https://issuer.test/tenant", metadataUrl: `${iss.issuer}${META}`, fetch: iss.fetch });
    const err = await verifyAccessToken(await iss.sign(), {
      issuer: "https://issuer.test/tenant",
      audience: "https://api.test",
      keys: impostor,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeySetUnavailableError);
    expect((err as Error).message).toBe(
      `The metadata at ${iss.issuer}${META} is for issuer "https://issuer.test", not https://issuer.test/tenant.`,
    );
  });
});
