import { authenticateClient } from "./authenticate.js";
import { OAuthError } from "./errors.js";
import type { IntrospectDeps } from "./introspect-token.js";
import { verifyOwnToken } from "./token-check.js";
import type { ClientCredentials } from "./token-request.js";

/**
 * Token revocation (RFC 7009). Tokens are stateless JWTs, so revoking one puts its `jti` on a
 * deny-list until its own `exp`; the list is pruned after that, so it holds only live tokens.
 * A token that is not ours, malformed or already expired answers success (§2.2): there is
 * nothing to revoke and nothing to learn. Another client's token is refused (§2.1).
 */
export async function revokeToken(
  deps: IntrospectDeps,
  credentials: ClientCredentials | undefined,
  token: string | undefined,
  origin?: string,
): Promise<void> {
  const now = deps.clock();
  deps.guard?.admitAddress(origin, now);
  const caller = await authenticateClient(deps.storage, credentials, now, deps.secretUse, deps.guard, origin, deps.assertions);
  if (token === undefined || token === "") throw new OAuthError("invalid_request", "The token parameter is missing");
  const claims = await verifyOwnToken(deps, token, { ignoreExpiry: true });
  if (!claims || claims.exp * 1000 <= deps.clock()) return;
  if (claims.client_id !== caller.clientId) {
    throw new OAuthError("unauthorized_client", "The token was not issued to this client");
  }
  await deps.guard?.admitRevocation(caller.clientId, now);
  await deps.storage.revokeToken(claims.jti, claims.client_id, claims.exp * 1000);
}
