import type { ClientRecord } from "../ports/storage.js";
import { quoted } from "../quoted.js";
import { ASSERTION_SKEW_SECONDS, checkSoleAudience, refuse, requireJti } from "./assertion-claims.js";
import type { AssertionDeps } from "./assertion-deps.js";
import { type KeyChoice, verifySignature } from "./assertion-keys.js";
import type { VerifyContext } from "./client-authenticator.js";
import type { CompactJwt } from "./compact-jwt.js";

// RFC 7515 §4.1.9: a media type, compared case-insensitively, "application/" optional. "JWT"
// (RFC 7519 §5.1) is the generic type many clients put on every JWT (authlib does): it says
// nothing, like no typ. Any other explicit type is another kind of JWT (an access token,
// at+jwt; a DPoP proof) and never a client assertion.
const ASSERTION_TYPES = new Set(["client-authentication+jwt", "application/client-authentication+jwt", "jwt", "application/jwt"]);

/**
 * Checks a private_key_jwt assertion (RFC 7523 §2.2 and §3, with the 2026 revision,
 * draft-ietf-oauth-rfc7523bis): iss and sub are the client id, typ is absent or
 * client-authentication+jwt, aud is our issuer identifier alone, the lifetime is short, it
 * carries a jti, and it is signed by one of the client's keys. Only then is its jti recorded
 * (single use until it expires, in storage: every process and replica sees it). The algorithm
 * and times were checked before the client was read (client-assertion.ts).
 */
export async function verifyPrivateKeyJwt(
  client: ClientRecord,
  jwt: CompactJwt,
  alg: string,
  ctx: VerifyContext,
  deps: AssertionDeps,
): Promise<boolean> {
  const { iss, sub } = jwt.claims;
  if (iss !== client.clientId || sub !== client.clientId) {
    throw refuse(`The client_assertion's iss and sub must both be the client id ${quoted(client.clientId)} (RFC 7523 section 3)`);
  }
  const typ = jwt.header.typ;
  if (typ !== undefined && (typeof typ !== "string" || !ASSERTION_TYPES.has(typ.toLowerCase()))) {
    throw refuse(`The client_assertion's typ ${quoted(String(typ))} is another kind of JWT: use client-authentication+jwt, or no typ`);
  }
  checkSoleAudience(jwt, deps.issuer, "the issuer identifier", `${deps.issuer.replace(/\/+$/, "")}/oauth/token`);
  checkLifetime(jwt, ctx.now, deps.maxLifetimeSeconds);
  const jti = requireJti(jwt, "each private_key_jwt assertion carries one, used once (RFC 7523 section 3)");
  await verifySignature(jwt, alg, keysOf(client), deps.keySets, deps.importedKeys);
  // Recorded last: an assertion refused for any other reason leaves its jti unused.
  const exp = jwt.claims.exp as number;
  if (!(await ctx.replay.recordAssertionJti(client.clientId, jti, (exp + ASSERTION_SKEW_SECONDS) * 1000, ctx.now))) {
    throw refuse("The client_assertion's jti was used before: an assertion authenticates one request only (RFC 7523 section 3)");
  }
  return true;
}

/** exp - iat (or exp - now without iat) within the configured maximum: a leaked assertion is useful only that long. */
function checkLifetime(jwt: CompactJwt, now: number, maxSeconds: number): void {
  const exp = jwt.claims.exp as number;
  const iat = jwt.claims.iat;
  const lifetime = typeof iat === "number" ? exp - iat : exp - now / 1000;
  if (lifetime > maxSeconds) {
    throw refuse(
      `The client_assertion is valid for ${Math.round(lifetime)}s (exp - ${typeof iat === "number" ? "iat" : "now"}); at most ${maxSeconds}s is accepted`,
    );
  }
}

function keysOf(client: ClientRecord): KeyChoice {
  if (client.jwksUri !== null)
    return {
      source: { location: { kind: "jwks_uri", uri: client.jwksUri } },
      name: `the keys at the client's jwks_uri ${quoted(client.jwksUri)}`,
    };
  return { source: { keys: client.keys.map((k) => k.jwk) }, name: "the client's registered keys" };
}
