import { create } from "@bufbuild/protobuf";
import { type IssueTokenResponse, IssueTokenResponseSchema } from "../../../gen/tessera/v1/token_service_pb.js";
import { readClientCredentials } from "../../core/client-auth/client-authenticators.js";
import type { IntrospectDeps } from "../../core/introspect-token.js";
import type { IssueTokenDeps } from "../../core/issue-token.js";
import type { PublicJwk } from "../../core/ports/signing-keys.js";
import type { ClientCredentials, TokenRequest, TokenResponse } from "../../core/token-request.js";
import type { RequestObserver } from "../../observability/request-observer.js";
import type { IssueTokenFields } from "./issue-token-codec.js";
import { messageParam } from "./message-params.js";

/** What the TokenService calls need, on either gRPC path: the core's dependencies plus the published keys. */
export interface TokenServiceDeps extends IssueTokenDeps, IntrospectDeps {
  publicKeys: () => { keys: PublicJwk[] };
  jwksMaxAgeSeconds: number;
  observer: RequestObserver;
}

/** Client credentials from request fields or `authorization` metadata, by the rules every door shares. */
export function callerCredentials(message: object, authorization: string | null | undefined): ClientCredentials | undefined {
  return readClientCredentials(authorization ?? undefined, message, messageParam);
}

/** Parses an IssueToken call into the core's TokenRequest. */
export function toTokenRequest(req: IssueTokenFields, authorization: string | null | undefined): TokenRequest {
  return {
    credentials: callerCredentials(req, authorization),
    scope: req.scope,
    audiences: req.audience.filter((a) => a !== ""),
  };
}

/** The OAuth token response as the IssueToken message (same field names, on purpose). */
export function toIssueTokenResponse(res: TokenResponse): IssueTokenResponse {
  return create(IssueTokenResponseSchema, {
    accessToken: res.access_token,
    tokenType: res.token_type,
    expiresIn: res.expires_in,
    scope: res.scope ?? "",
  });
}
