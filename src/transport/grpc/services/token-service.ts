import type { DescMethod, MessageInitShape } from "@bufbuild/protobuf";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import {
  type GetJwksResponseSchema,
  type IntrospectTokenResponseSchema,
  TokenService,
} from "../../../../gen/tessera/v1/token_service_pb.js";
import { type IntrospectionResponse, introspectToken } from "../../../core/introspect-token.js";
import { issueToken } from "../../../core/issue-token.js";
import type { PublicJwk } from "../../../core/ports/signing-keys.js";
import { revokeToken } from "../../../core/revoke-token.js";
import { TokenCall, type TokenEndpoint } from "../../../observability/token-call.js";
import { originOf } from "../context.js";
import { callerCredentials, type TokenServiceDeps, toIssueTokenResponse, toTokenRequest } from "../token-requests.js";

/** The endpoint, in logs and metrics, of each TokenService method that reports its calls (GetJwks reports none). */
const ENDPOINTS = { issueToken: "token", revokeToken: "revoke", introspectToken: "introspect" } as const satisfies Record<
  string,
  TokenEndpoint
>;

/** The token-family endpoint a method's calls are reported as; undefined for any other method. */
export function tokenEndpointOf(method: DescMethod): TokenEndpoint | undefined {
  if (method.parent.typeName !== TokenService.typeName) return undefined;
  return (ENDPOINTS as Partial<Record<string, TokenEndpoint>>)[method.localName];
}

/** Registers TokenService on the router; it shares every decision with the HTTP form endpoints. */
export function registerTokenService(router: ConnectRouter, deps: TokenServiceDeps): void {
  const auth = (ctx: HandlerContext) => ctx.requestHeader.get("authorization");
  /** Runs one token-family call and reports it, success or not. */
  async function observed<T>(endpoint: TokenEndpoint, ctx: HandlerContext, run: (call: TokenCall) => Promise<T>): Promise<T> {
    const call = new TokenCall(deps.observer, "grpc", endpoint, originOf(ctx));
    try {
      const answer = await run(call);
      call.end(undefined);
      return answer;
    } catch (err) {
      call.end(err);
      throw err;
    }
  }
  router.service(TokenService, {
    issueToken: (req, ctx) =>
      observed(ENDPOINTS.issueToken, ctx, async (call) => {
        const request = toTokenRequest(req, auth(ctx));
        request.origin = call.origin;
        call.saw(request.credentials, request.scope);
        return toIssueTokenResponse(await issueToken(deps, request));
      }),
    revokeToken: (req, ctx) =>
      observed(ENDPOINTS.revokeToken, ctx, async (call) => {
        const credentials = callerCredentials(req, auth(ctx));
        call.saw(credentials);
        await revokeToken(deps, credentials, req.token, call.origin);
        return {};
      }),
    introspectToken: (req, ctx) =>
      observed(ENDPOINTS.introspectToken, ctx, async (call) => {
        const credentials = callerCredentials(req, auth(ctx));
        call.saw(credentials);
        return toIntrospectTokenResponse(await introspectToken(deps, credentials, req.token, call.origin));
      }),
    async getJwks() {
      return toGetJwksResponse(deps.publicKeys().keys, deps.jwksMaxAgeSeconds);
    },
  });
}

/** The RFC 7662 §2.2 answer as the IntrospectToken message (an inactive token: active false and nothing else). */
function toIntrospectTokenResponse(r: IntrospectionResponse): MessageInitShape<typeof IntrospectTokenResponseSchema> {
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
}

/** The published keys as the GetJwks message; members a key type lacks are empty strings. */
function toGetJwksResponse(keys: PublicJwk[], maxAgeSeconds: number): MessageInitShape<typeof GetJwksResponseSchema> {
  return {
    keys: keys.map((k) => ({
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
    maxAgeSeconds,
  };
}
