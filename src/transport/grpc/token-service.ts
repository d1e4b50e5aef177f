import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { OAuthError } from "../../core/errors.js";
import { issueToken, type IssueTokenDeps } from "../../core/issue-token.js";
import type { ClientCredentials, TokenRequest } from "../../core/token-request.js";
import { TokenService, type IssueTokenRequest } from "../../../gen/tessera/v1/token_service_pb.js";
import { parseBasicAuthorization } from "../basic-auth.js";

/** Parses an IssueToken call into the core's TokenRequest: credentials in fields or Basic metadata, not both. */
export function toTokenRequest(req: IssueTokenRequest, authorization: string | null): TokenRequest {
  let credentials: ClientCredentials | undefined;
  if (authorization) {
    const basic = parseBasicAuthorization(authorization);
    if (!basic) {
      throw new OAuthError("invalid_client", "Only Basic client authentication is supported in the authorization metadata", "client_secret_basic");
    }
    if (req.clientSecret !== "" || (req.clientId !== "" && req.clientId !== basic.clientId)) {
      throw new OAuthError("invalid_request", "The request uses more than one client authentication method");
    }
    credentials = { ...basic, method: "client_secret_basic" };
  } else if (req.clientId !== "") {
    credentials = { clientId: req.clientId, clientSecret: req.clientSecret, method: "client_secret_post" };
  }
  return { credentials, scope: req.scope, audiences: req.audience.filter((a) => a !== "") };
}

/** Registers TokenService on the router; it shares issueToken with the HTTP form endpoint. */
export function registerTokenService(router: ConnectRouter, deps: IssueTokenDeps): void {
  router.service(TokenService, {
    async issueToken(req: IssueTokenRequest, ctx: HandlerContext) {
      const res = await issueToken(deps, toTokenRequest(req, ctx.requestHeader.get("authorization")));
      return { accessToken: res.access_token, tokenType: res.token_type, expiresIn: res.expires_in, scope: res.scope ?? "" };
    },
  });
}
