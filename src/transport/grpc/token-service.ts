import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { OAuthError } from "../../core/errors.js";
import { introspectToken, type IntrospectDeps } from "../../core/introspect-token.js";
import { issueToken, type IssueTokenDeps } from "../../core/issue-token.js";
import { revokeToken } from "../../core/revoke-token.js";
import type { ClientCredentials, TokenRequest, TokenResponse } from "../../core/token-request.js";
import { create } from "@bufbuild/protobuf";
import type { PublicJwk } from "../../core/ports/signing-keys.js";
import {
  IssueTokenResponseSchema,
  TokenService,
  type IssueTokenResponse,
} from "../../../gen/tessera/v1/token_service_pb.js";
import type { RequestObserver } from "../../observability/request-observer.js";
import { parseBasicAuthorization } from "../basic-auth.js";
import { originOf } from "./context.js";
import type { IssueTokenFields } from "./issue-token-codec.js";

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
export function toTokenRequest(req: IssueTokenFields, authorization: string | null): TokenRequest {
  return {
    credentials: callerCredentials(req, authorization),
    scope: req.scope,
    audiences: req.audience.filter((a) => a !== ""),
  };
}

/** The OAuth token response as the IssueToken message (same field names, on purpose). */
export function toIssueTokenResponse(res: TokenResponse): IssueTokenResponse {
  return create(IssueTokenResponseSchema, { accessToken: res.access_token, tokenType: res.token_type, expiresIn: res.expires_in, scope: res.scope ?? "" });
}

/** What TokenService needs: the core's dependencies plus the published keys. */
export interface TokenServiceDeps extends IssueTokenDeps, IntrospectDeps {
  publicKeys: () => { keys: PublicJwk[] };
  jwksMaxAgeSeconds: number;
  observer: RequestObserver;
}

/** Registers TokenService on the router; it shares every decision with the HTTP form endpoints. */
export function registerTokenService(router: ConnectRouter, deps: TokenServiceDeps): void {
  const auth = (ctx: HandlerContext) => ctx.requestHeader.get("authorization");
  /** Runs one token-family call and reports it (one log line, metrics), success or not. */
  async function observed<T>(
    endpoint: "token" | "revoke" | "introspect",
    ctx: HandlerContext,
    call: (seen: { clientId?: string | undefined; scope?: string | undefined }) => Promise<T>,
  ): Promise<T> {
    const started = performance.now();
    const seen: { clientId?: string | undefined; scope?: string | undefined } = {};
    let error: unknown;
    try {
      return await call(seen);
    } catch (err) {
      error = err;
      throw err;
    } finally {
      deps.observer.tokenRequest({
        transport: "grpc",
        endpoint,
        clientId: seen.clientId,
        scope: seen.scope,
        origin: originOf(ctx),
        error,
        durationMs: performance.now() - started,
      });
    }
  }
  router.service(TokenService, {
    issueToken: (req, ctx) =>
      observed("token", ctx, async (seen) => {
        const request = toTokenRequest(req, auth(ctx));
        request.origin = originOf(ctx);
        seen.clientId = request.credentials?.clientId;
        seen.scope = request.scope || undefined;
        const res = await issueToken(deps, request);
        return toIssueTokenResponse(res);
      }),
    revokeToken: (req, ctx) =>
      observed("revoke", ctx, async (seen) => {
        const credentials = callerCredentials(req, auth(ctx));
        seen.clientId = credentials?.clientId;
        await revokeToken(deps, credentials, req.token, originOf(ctx));
        return {};
      }),
    introspectToken: (req, ctx) =>
      observed("introspect", ctx, async (seen) => {
        const credentials = callerCredentials(req, auth(ctx));
        seen.clientId = credentials?.clientId;
        const r = await introspectToken(deps, credentials, req.token, originOf(ctx));
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
      }),
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
