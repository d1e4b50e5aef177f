import { createLocalJWKSet, type JSONWebKeySet, type JWTPayload, jwtVerify } from "jose";
import { MAX_TOKEN_TTL_SECONDS } from "./client-admin.js";
import type { Clock } from "./clock.js";
import type { KeyRetirement } from "./ports/signing-keys.js";
import type { Storage } from "./ports/storage.js";
import { SIGNING_ALGS } from "./signing-algs.js";
import { isCutOff } from "./token-cutoffs.js";

/** What checking our own tokens needs. */
export interface TokenCheckDeps {
  /** The currently published JWKS (the same object until keys change). */
  jwks: () => JSONWebKeySet;
  /** When a published key stopped signing (epoch ms); undefined while it signs or waits to. */
  keys: KeyRetirement;
  issuer: string;
  storage: Storage;
  clock: Clock;
}

/**
 * How far in the future an `iat` of ours may lie. Tessera's processes share one clock (they
 * share one database file), and issuance puts `iat` at most a second or two ahead of it (after
 * a cut-off in the same second, token-cutoffs.ts); the rest is room for a clock step. A token
 * claiming a later `iat` was not issued by us: it was signed with a leaked key, and would
 * otherwise outlive every cut-off made before that time.
 */
export const IAT_SKEW_SECONDS = 30;

/**
 * How long after a key retired a token of ours may still claim to have been issued with it:
 * another process on the database keeps signing with the retired key until it notices the
 * rotation (it checks every 500 ms), and `iat` may lie a second ahead after a cut-off.
 */
export const RETIRED_KEY_GRACE_MS = 2000;

/** The claims of an access token that is active right now. */
export interface ActiveToken extends JWTPayload {
  client_id: string;
  sub: string;
  jti: string;
  exp: number;
  iat: number;
  scope?: string;
}

const verifiers = new WeakMap<JSONWebKeySet, ReturnType<typeof createLocalJWKSet>>();

/**
 * Verifies signature, typ, issuer and time only; undefined for anything that is not our valid
 * token. Beyond what any verifier checks, it refuses what only a holder of a leaked signing key
 * could make: an `iat` in the future, a lifetime (exp - iat) longer than any Tessera issues,
 * and an `iat` after the signing key retired.
 */
export async function verifyOwnToken(
  deps: Omit<TokenCheckDeps, "storage">,
  token: string,
  options: { audience?: string; ignoreExpiry?: boolean } = {},
): Promise<ActiveToken | undefined> {
  const jwks = deps.jwks();
  let keys = verifiers.get(jwks);
  if (!keys) {
    keys = createLocalJWKSet(jwks);
    verifiers.set(jwks, keys);
  }
  const now = deps.clock();
  try {
    const { payload, protectedHeader } = await jwtVerify(token, keys, {
      issuer: deps.issuer,
      typ: "at+jwt",
      algorithms: [...SIGNING_ALGS],
      // For revocation an expired token is still "ours"; anything else wants it unexpired.
      currentDate: new Date(options.ignoreExpiry ? 0 : now),
      requiredClaims: ["exp", "iat", "sub", "jti", "client_id"],
      ...(options.audience === undefined ? {} : { audience: options.audience }),
    });
    if (typeof payload.client_id !== "string" || typeof payload.jti !== "string") return undefined;
    const { iat, exp } = payload as { iat: number; exp: number };
    if (iat > now / 1000 + IAT_SKEW_SECONDS) return undefined;
    if (exp - iat > MAX_TOKEN_TTL_SECONDS) return undefined;
    const retired = protectedHeader.kid === undefined ? undefined : deps.keys.retireTime(protectedHeader.kid);
    if (retired !== undefined && iat * 1000 > retired + RETIRED_KEY_GRACE_MS) return undefined;
    return payload as ActiveToken;
  } catch {
    return undefined;
  }
}

/**
 * Whether one of our access tokens is active now: valid signature and time, its client still
 * exists and is enabled, it was issued after the client's cut-off, and it is not revoked.
 * Reads storage, so every process sees the same answer as soon as a change is committed.
 */
export async function activeToken(deps: TokenCheckDeps, token: string, audience?: string): Promise<ActiveToken | undefined> {
  const claims = await verifyOwnToken(deps, token, audience === undefined ? {} : { audience });
  if (!claims) return undefined;
  const client = await deps.storage.getClient(claims.client_id);
  if (!client || client.disabled) return undefined;
  // A scope the client may no longer have makes the token inactive: taking tessera:admin away
  // from a client locks its tokens out at once (and a re-created client never inherits one).
  const scopes = typeof claims.scope === "string" && claims.scope !== "" ? claims.scope.split(" ") : [];
  if (scopes.some((s) => !client.scopes.includes(s))) return undefined;
  // Issued before a cut-off: the client's, one left by a deleted client with the same id, or
  // one of a scope taken away (and perhaps given back since).
  if (isCutOff(client, claims.iat, scopes)) return undefined;
  if (await deps.storage.isTokenRevoked(claims.jti)) return undefined;
  return claims;
}
