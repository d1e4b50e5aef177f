import { authenticateClient } from "./authenticate.js";
import type { AssertionDeps } from "./client-auth/assertion-deps.js";
import { OAuthError } from "./errors.js";
import type { RequestGuard } from "./request-guard.js";
import type { SecretUseTracker } from "./secret-use.js";
import { activeToken, type TokenCheckDeps } from "./token-check.js";
import type { ClientCredentials } from "./token-request.js";

/** The scope a client needs to call the introspection endpoint (RFC 7662 §4). */
export const INTROSPECT_SCOPE = "tessera:introspect";

/** The RFC 7662 §2.2 answer; for an inactive token exactly `{ active: false }`. */
export type IntrospectionResponse =
  | { active: false }
  | {
      active: true;
      scope?: string;
      client_id: string;
      sub: string;
      aud: string | string[];
      iss: string;
      exp: number;
      iat: number;
      jti: string;
      token_type: "Bearer";
    };

/** What introspection needs. */
export interface IntrospectDeps extends TokenCheckDeps {
  secretUse: SecretUseTracker;
  guard?: RequestGuard | undefined;
  /** What checking client assertions needs; without it they are refused. */
  assertions?: AssertionDeps | undefined;
}

/**
 * Token introspection (RFC 7662): the caller must be a client holding tessera:introspect
 * (§2.1 requires authorisation, §4 warns against token scanning). Anything that is not an
 * active token of ours answers `{ active: false }` and nothing more.
 */
export async function introspectToken(
  deps: IntrospectDeps,
  credentials: ClientCredentials | undefined,
  token: string | undefined,
  origin?: string,
): Promise<IntrospectionResponse> {
  const now = deps.clock();
  deps.guard?.admitAddress(origin, now);
  const caller = await authenticateClient(deps.storage, credentials, now, deps.secretUse, deps.guard, origin, deps.assertions);
  if (!caller.scopes.includes(INTROSPECT_SCOPE)) {
    throw new OAuthError("insufficient_scope", `Introspection requires a client with the scope ${INTROSPECT_SCOPE}`);
  }
  if (token === undefined || token === "") throw new OAuthError("invalid_request", "The token parameter is missing");
  const claims = await activeToken(deps, token);
  if (!claims) return { active: false };
  const res: IntrospectionResponse = {
    active: true,
    client_id: claims.client_id,
    sub: claims.sub,
    aud: claims.aud ?? [],
    iss: claims.iss ?? deps.issuer,
    exp: claims.exp,
    iat: claims.iat,
    jti: claims.jti,
    token_type: "Bearer",
  };
  if (typeof claims.scope === "string") res.scope = claims.scope;
  return res;
}
