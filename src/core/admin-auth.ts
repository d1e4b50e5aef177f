import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import type { Storage } from "../storage/storage.js";
import { SIGNING_ALGS } from "../keys/algorithms.js";
import type { Clock } from "./clock.js";
import { AdminError } from "./errors.js";

/** The scope a token needs to call ClientAdmin. */
export const ADMIN_SCOPE = "tessera:admin";

/** The verified caller of an admin RPC. */
export interface AdminPrincipal {
  clientId: string;
  scopes: string[];
}

/** What admin authentication needs: our own JWKS, issuer, storage, clock. */
export interface AdminAuthDeps {
  jwks: () => JSONWebKeySet;
  issuer: string;
  storage: Storage;
  clock: Clock;
}

/**
 * Checks an access token presented to an admin API: signed by us, for our issuer, unexpired,
 * its client still enabled, and carrying the admin scope.
 */
export async function authorizeAdmin(deps: AdminAuthDeps, token: string | undefined): Promise<AdminPrincipal> {
  if (!token) throw new AdminError("unauthenticated", "ClientAdmin needs an access token with scope tessera:admin in the authorization metadata (Bearer)");
  let payload;
  try {
    ({ payload } = await jwtVerify(token, createLocalJWKSet(deps.jwks()), {
      issuer: deps.issuer,
      // RFC 9068 §4: a resource server checks the token is meant for it. Admin clients have
      // no audiences, so their tokens name the issuer.
      audience: deps.issuer,
      typ: "at+jwt",
      algorithms: [...SIGNING_ALGS],
      currentDate: new Date(deps.clock()),
      clockTolerance: 30,
      requiredClaims: ["exp", "iat", "sub"],
    }));
  } catch {
    throw new AdminError("unauthenticated", "the access token is invalid or expired");
  }
  const clientId = String(payload.client_id ?? payload.sub);
  const client = await deps.storage.getClient(clientId);
  if (!client || client.disabled) throw new AdminError("unauthenticated", "the access token's client is disabled or deleted");
  const scopes = typeof payload.scope === "string" ? payload.scope.split(" ") : [];
  if (!scopes.includes(ADMIN_SCOPE)) {
    throw new AdminError("permission_denied", `the access token lacks the scope ${ADMIN_SCOPE}`);
  }
  return { clientId, scopes };
}
