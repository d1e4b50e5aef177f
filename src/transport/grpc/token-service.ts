import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { OAuthError } from "../../core/errors.js";
import { introspectToken, type IntrospectDeps } from "../../core/introspect-token.js";
import { issueToken, type IssueTokenDeps } from "../../core/issue-token.js";
import { revokeToken } from "../../core/revoke-token.js";
import type { ClientCredentials, TokenRequest } from "../../core/token-request.js";
import type { PublicJwk } from "../../keys/key-ring.js";
import { TokenService, type IssueTokenRequest } from "../../../gen/tessera/v1/token_service_pb.js";
import { parseBasicAuthorization } from "../basic-auth.js";

/** Client credentials from request fields or `authorization: Basic` metadata, never both. */
export function callerCredentials(
  fields: { clientId: string; clientSecret: string },
  authorization: string | null,
): ClientCredentials | undefined {
  if (authorization) {
    const basic = parseBasicAuthorization(authorization);
    if (!basic) {
      throw new OAuthError("invalid_client", "Only Basic client authentication is supported in the authorization metadata", "client_secret_basic");
    }
    if (fields.clientSecret !== "" || (fields.clientId !== "" && fields.clientId !== basic.clientId)) {
      throw new OAuthError("invalid_request", "The request uses more than one client authentication method");
    }
    return { ...basic, method: "client_secret_basic" };
  }
  if (fields.clientId !== "") return { clientId: fields.clientId, clientSecret: fields.clientSecret, method: "client_secret_post" };
  return undefined;
}

/** Parses an IssueToken call into the core's TokenRequest. */
export function toTokenRequest(req: IssueTokenRequest, authorization: string | null): TokenRequest {
  return {
    credentials: callerCredentials(req, authorization),
    scope: req.scope,
    audiences: req.audience.filter((a) => a !== ""),
  };
}

/** What TokenService needs: the core's dependencies plus the published keys. */
export interface TokenServiceDeps extends IssueTokenDeps, IntrospectDeps {
  publicKeys: () => { keys: PublicJwk[] };
  jwksMaxAgeSeconds: number;
}

/** Registers TokenService on the router; it shares every decision with the HTTP form endpoints. */
export function registerTokenService(router: ConnectRouter, deps: TokenServiceDeps): void {
  const auth = (ctx: HandlerContext) => ctx.requestHeader.get("authorization");
  router.service(TokenService, {
    async issueToken(req, ctx) {
      const res = await issueToken(deps, toTokenRequest(req, auth(ctx)));
      return { accessToken: res.access_token, tokenType: res.token_type, expiresIn: res.expires_in, scope: res.scope ?? "" };
    },
    async revokeToken(req, ctx) {
      await revokeToken(deps, callerCredentials(req, auth(ctx)), req.token);
      return {};
    },
    async introspectToken(req, ctx) {
      const r = await introspectToken(deps, callerCredentials(req, auth(ctx)), req.token);
      if (!r.active) return { active: false };
      return {
        active: true,
        scope: r.scope ?? "",
        clientId: r.client_id,
        sub: r.sub,
        aud: typeof r.aud === "string" ? [r.aud] : r.aud,
        iss: r.iss,
        exp: BigInt(r.exp),
        iat: BigInt(r.iat),
        jti: r.jti,
        tokenType: r.token_type,
      };
    },
    async getJwks() {
      return {
        keys: deps.publicKeys().keys.map((k) => ({
          kty: k.kty ?? "",
          kid: k.kid,
          alg: k.alg,
          use: k.use,
          crv: k.crv ?? "",
          x: k.x ?? "",
          y: k.y ?? "",
          n: k.n ?? "",
          e: k.e ?? "",
        })),
        maxAgeSeconds: deps.jwksMaxAgeSeconds,
      };
    },
  });
}
