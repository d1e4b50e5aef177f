import { AdminError } from "./errors.js";
import { activeToken, type TokenCheckDeps } from "./token-check.js";

/** The scope a token needs to call ClientAdmin. */
export const ADMIN_SCOPE = "tessera:admin";

/** The verified caller of an admin RPC. */
export interface AdminPrincipal {
  clientId: string;
  scopes: string[];
}

/** What admin authentication needs: our own JWKS, issuer, storage, clock. */
export type AdminAuthDeps = TokenCheckDeps;

/**
 * Checks an access token presented to an admin API: signed by us, for our issuer, unexpired,
 * its client still enabled, and carrying the admin scope.
 */
export async function authorizeAdmin(deps: AdminAuthDeps, token: string | undefined): Promise<AdminPrincipal> {
  if (!token) {
    throw new AdminError(
      "unauthenticated",
      "ClientAdmin needs an access token with scope tessera:admin in the authorization metadata (Bearer)",
    );
  }
  // RFC 9068 §4: a resource server checks the token is meant for it. Admin clients have no
  // audiences, so their tokens name the issuer. Revoked and cut-off tokens are refused too.
  const claims = await activeToken(deps, token, deps.issuer);
  if (!claims) throw new AdminError("unauthenticated", "the access token is not valid: it is malformed or expired or revoked");
  const scopes = typeof claims.scope === "string" ? claims.scope.split(" ") : [];
  if (!scopes.includes(ADMIN_SCOPE)) {
    throw new AdminError("permission_denied", `the access token lacks the scope ${ADMIN_SCOPE}`);
  }
  return { clientId: claims.client_id, scopes };
}
