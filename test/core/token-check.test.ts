import { importJWK, type JWK, SignJWT } from "jose";
import { beforeEach, describe, expect, it } from "vitest";
import { ADMIN_SCOPE, authorizeAdmin } from "../../src/core/admin-auth.js";
import { MAX_TOKEN_TTL_SECONDS } from "../../src/core/client-admin.js";
import { AdminError } from "../../src/core/errors.js";
import { INTROSPECT_SCOPE, introspectToken } from "../../src/core/introspect-token.js";
import { IAT_SKEW_SECONDS, RETIRED_KEY_GRACE_MS } from "../../src/core/token-check.js";
import { rejection } from "./rejection.js";
import { ISSUER, START, type TestClient, tokenWorld } from "./token-world.js";

// Tokens forged with one of our own private keys, as whoever copied it would sign them:
// Tessera's own checks (admin authentication, introspection) refuse what it never issues.

let w: Awaited<ReturnType<typeof tokenWorld>>;
let introspector: TestClient;
let ops: TestClient;

beforeEach(async () => {
  w = await tokenWorld();
  introspector = await w.newClient([INTROSPECT_SCOPE]);
  ops = await w.newClient([ADMIN_SCOPE], [], 3600);
});

/** Signs `claims` with the stored private key `kid` (default: the current key), as a thief would. */
async function forge(claims: Record<string, unknown>, kid = w.keys.current.kid): Promise<string> {
  const stored = (await w.storage.listSigningKeys()).find((k) => k.kid === kid)!;
  const key = await importJWK(JSON.parse(stored.privateKey) as JWK, stored.alg);
  return new SignJWT(claims).setProtectedHeader({ alg: stored.alg, typ: "at+jwt", kid }).sign(key);
}

/** An admin token for `ops` as Tessera would issue it at `iat`, lasting `ttl` seconds. */
function adminClaims(iat: number, ttl = 600): Record<string, unknown> {
  return {
    iss: ISSUER,
    sub: ops.clientId,
    client_id: ops.clientId,
    aud: ISSUER,
    iat,
    exp: iat + ttl,
    jti: `j-${iat}-${ttl}`,
    scope: ADMIN_SCOPE,
  };
}

const nowS = () => Math.floor(w.now / 1000);
const admitted = async (token: string) => (await authorizeAdmin(w.deps, token)).clientId;
const refused = async (token: string) => (await rejection(authorizeAdmin(w.deps, token), AdminError)).code;
const introspect = (token: string) => introspectToken(w.deps, introspector.credentials, token);

describe("forged tokens: iat in the future", () => {
  it(`an iat up to ${IAT_SKEW_SECONDS} s ahead passes (clock steps); one second more is refused, by ClientAdmin and introspection`, async () => {
    expect(await admitted(await forge(adminClaims(nowS())))).toBe(ops.clientId); // the key really is ours
    expect(await admitted(await forge(adminClaims(nowS() + IAT_SKEW_SECONDS)))).toBe(ops.clientId);
    const ahead = await forge(adminClaims(nowS() + IAT_SKEW_SECONDS + 2));
    expect(await refused(ahead)).toBe("unauthenticated");
    expect(await introspect(ahead)).toEqual({ active: false });
  });

  it("a forged admin token with iat a year ahead no longer survives clients revoke-tokens (it is refused before and after)", async () => {
    const future = await forge(adminClaims(nowS() + 365 * 86400));
    expect(await refused(future)).toBe("unauthenticated");
    await w.admin.revokeTokens(ops.clientId);
    w.now += 5000;
    expect(await refused(future)).toBe("unauthenticated");
    expect(await introspect(future)).toEqual({ active: false });
  });
});

describe("forged tokens: a lifetime longer than any Tessera issues", () => {
  it(`exp - iat of ${MAX_TOKEN_TTL_SECONDS} s passes; one second more is refused`, async () => {
    expect(await admitted(await forge(adminClaims(nowS(), MAX_TOKEN_TTL_SECONDS)))).toBe(ops.clientId);
    const long = await forge(adminClaims(nowS(), MAX_TOKEN_TTL_SECONDS + 1));
    expect(await refused(long)).toBe("unauthenticated");
    expect(await introspect(long)).toEqual({ active: false });
    expect(await introspect(await forge(adminClaims(nowS() - 3600, 10 * 365 * 86400)))).toEqual({ active: false });
  });
});

describe("forged tokens: signed by a retired key", () => {
  async function rotate(): Promise<{ old: string; retiredAt: number }> {
    w.now = START + w.keys.policy.prepublishMs;
    const old = w.keys.current.kid;
    await w.keys.maintain({ rotate: true, force: false });
    return { old, retiredAt: w.now };
  }

  it("an iat up to the retirement (plus the grace for other processes) passes; a later one is refused", async () => {
    const { old, retiredAt } = await rotate();
    const last = Math.floor((retiredAt + RETIRED_KEY_GRACE_MS) / 1000);
    expect(await admitted(await forge(adminClaims(last), old))).toBe(ops.clientId);
    const after = await forge(adminClaims(last + 1), old);
    expect(await refused(after)).toBe("unauthenticated");
    expect(await introspect(after)).toEqual({ active: false });
    // The same claims signed with the current key are fine: it is the key's retirement that counts.
    expect(await admitted(await forge(adminClaims(last + 1)))).toBe(ops.clientId);
  });

  it("rotation, then a cut-off: every token of the retired key is refused, whatever iat it claims", async () => {
    const { old } = await rotate();
    const claimsBefore = await forge(adminClaims(nowS() - 60), old);
    const claimsAt = await forge(adminClaims(nowS()), old);
    expect(await admitted(claimsAt)).toBe(ops.clientId);
    w.now += 3000;
    await w.admin.revokeTokens(ops.clientId);
    for (const t of [claimsBefore, claimsAt, await forge(adminClaims(nowS()), old), await forge(adminClaims(nowS() + 20), old)]) {
      expect(await refused(t)).toBe("unauthenticated");
    }
  });
});

describe("forged tokens after tessera keys rotate --force", () => {
  it("tokens of the withdrawn current and next keys are refused at once, whatever their claims; tokens of the new key work", async () => {
    const compromisedCurrent = w.keys.current.kid;
    const compromisedNext = (await w.storage.listSigningKeys()).find((k) => k.status === "next")!.kid;
    const forged = [
      await forge(adminClaims(nowS()), compromisedCurrent),
      await forge(adminClaims(nowS() - 300), compromisedCurrent),
      await forge(adminClaims(nowS()), compromisedNext),
    ];
    expect(await admitted(forged[0]!)).toBe(ops.clientId);
    expect(await admitted(forged[2]!)).toBe(ops.clientId); // the next key is published, so it verifies too

    w.now += 1000;
    expect(await w.keys.maintain({ rotate: true, force: true })).toBe(true);
    expect(w.keys.jwks.keys.map((k) => k.kid)).not.toContain(compromisedCurrent);
    expect(w.keys.jwks.keys.map((k) => k.kid)).not.toContain(compromisedNext);
    for (const t of forged) {
      expect(await refused(t)).toBe("unauthenticated");
      expect(await introspect(t)).toEqual({ active: false });
    }
    expect(await admitted(await w.tokenFor(ops))).toBe(ops.clientId);
  });
});
