import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload } from "jose";
import { SIGNING_ALGS } from "../keys/algorithms.js";
import type { Storage } from "../storage/storage.js";
import type { Clock } from "./clock.js";
import { isCutOff } from "./token-cutoffs.js";

/** What checking our own tokens needs. */
export interface TokenCheckDeps {
  /** The currently published JWKS (the same object until keys change). */
  jwks: () => JSONWebKeySet;
  issuer: string;
  storage: Storage;
  clock: Clock;
}

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

/** Verifies signature, typ, issuer and time only; undefined for anything that is not our valid token. */
export async function verifyOwnToken(
  deps: Omit<TokenCheckDeps, "storage">,
  token: string,
  options: { audience?: string; ignoreExpiry?: boolean } = {},
): Promise<ActiveToken | undefined> {
  const jwks = deps.jwks();
  let keys = verifiers.get(jwks);
  if (!keys) verifiers.set(jwks, (keys = createLocalJWKSet(jwks)));
  const now = deps.clock();
  try {
    const { payload } = await jwtVerify(token, keys, {
      issuer: deps.issuer,
      typ: "at+jwt",
      algorithms: [...SIGNING_ALGS],
      // For revocation an expired token is still "ours"; anything else wants it unexpired.
      currentDate: new Date(options.ignoreExpiry ? 0 : now),
      requiredClaims: ["exp", "iat", "sub", "jti", "client_id"],
      ...(options.audience === undefined ? {} : { audience: options.audience }),
    });
    if (typeof payload.client_id !== "string" || typeof payload.jti !== "string") return undefined;
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
