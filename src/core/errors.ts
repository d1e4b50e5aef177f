import type { ClientAuthMethod } from "./client-auth/client-authenticator.js";

/** OAuth 2.0 error codes this server emits (RFC 6749 §5.2, RFC 8707 §2). */
export type OAuthErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "invalid_scope"
  | "invalid_target"
  | "insufficient_scope"
  | "temporarily_unavailable"
  | "server_error";

/** The one error the token core throws; transports map it to HTTP or gRPC in one place each. */
export class OAuthError extends Error {
  override readonly name = "OAuthError";
  constructor(
    readonly code: OAuthErrorCode,
    readonly description: string,
    /** Which client authentication method the request used, for WWW-Authenticate (RFC 6749 §5.2). */
    readonly authMethod?: ClientAuthMethod,
    /** For temporarily_unavailable: when to retry (HTTP Retry-After), in whole seconds. */
    readonly retryAfterSeconds?: number,
    /** Which limit refused the request, for logs and metrics only; never sent. */
    readonly limit?: "client" | "address" | "auth_failures" | "auth_failures_address" | "revocations",
  ) {
    super(`${code}: ${description}`);
  }
}

/** Error codes for administrative operations, named after the gRPC codes they map to. */
export type AdminErrorCode =
  | "invalid_argument"
  | "not_found"
  | "already_exists"
  | "unauthenticated"
  | "permission_denied"
  | "failed_precondition"
  | "unavailable";

/** Thrown by the client administration core; message names the offending field. */
export class AdminError extends Error {
  override readonly name = "AdminError";
  constructor(
    readonly code: AdminErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The one invalid_client answer: unknown client, wrong secret and disabled client must look alike. */
export function invalidClient(authMethod: OAuthError["authMethod"]): OAuthError {
  return new OAuthError("invalid_client", "Client authentication failed", authMethod);
}
