import { type IntrospectDeps, introspectToken } from "../../core/introspect-token.js";
import { type IssueTokenDeps, issueToken } from "../../core/issue-token.js";
import { revokeToken } from "../../core/revoke-token.js";
import { type FormEndpointDeps, formEndpoint } from "./form-endpoint.js";
import type { RouteTable } from "./route-table.js";
import { parseTokenOperation, parseTokenRequest } from "./token-request-parser.js";

/** What the OAuth form endpoints need. */
export interface OAuthRoutesDeps extends IssueTokenDeps, IntrospectDeps, FormEndpointDeps {}

/** POST /oauth/token (RFC 6749 §4.4), /oauth/revoke (RFC 7009) and /oauth/introspect (RFC 7662). */
export function oauthRoutes(deps: OAuthRoutesDeps): RouteTable {
  return {
    "/oauth/token": {
      methods: ["POST"],
      handle: formEndpoint(deps, "token", (r) => {
        const request = parseTokenRequest(r.authorization, r.query, r.body);
        request.origin = r.call.origin;
        r.call.saw(request.credentials, request.scope);
        return issueToken(deps, request);
      }),
    },
    "/oauth/revoke": {
      methods: ["POST"],
      handle: formEndpoint(deps, "revoke", async (r) => {
        const op = parseTokenOperation(r.authorization, r.query, r.body);
        r.call.saw(op.credentials);
        await revokeToken(deps, op.credentials, op.token, r.call.origin);
        return {};
      }),
    },
    "/oauth/introspect": {
      methods: ["POST"],
      handle: formEndpoint(deps, "introspect", (r) => {
        const op = parseTokenOperation(r.authorization, r.query, r.body);
        r.call.saw(op.credentials);
        return introspectToken(deps, op.credentials, op.token, r.call.origin);
      }),
    },
  };
}
