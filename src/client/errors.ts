/**
 * Why a token request failed: an OAuth code from the token endpoint (RFC 6749 §5.2), or one
 * of the SDK's own codes for failures that never reached an OAuth answer.
 */
export type TokenErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "invalid_scope"
  | "invalid_target"
  | "server_error"
  | "temporarily_unavailable"
  | "network_error"
  | "timeout"
  | "invalid_response"
  | "aborted";

// RFC 6749 §5.2 errors and local failures: only these are worth another attempt. invalid_client,
// invalid_scope, unauthorized_client and the rest will fail the same way every time.
const RETRYABLE = new Set<string>(["server_error", "temporarily_unavailable", "network_error", "timeout"]);

/** Where a description from the server is cut, so a proxy's HTML error page cannot flood logs. */
const MAX_DESCRIPTION = 200;

/** Facts that make an error message actionable. */
export interface TokenErrorContext {
  /** The token service the request went to (a URL; never carries credentials). */
  target?: string | undefined;
  /** HTTP status, or the gRPC code name, of the answer. */
  status?: number | string | undefined;
  /** How long the server asked us to wait (Retry-After), in milliseconds. */
  retryAfterMs?: number | undefined;
  /** The per-request timeout that fired, for `timeout`. */
  timeoutMs?: number | undefined;
  /** The underlying failure (network errors); never holds the request's headers. */
  cause?: unknown;
  /** Where the client id and secret came from (e.g. "CLIENT_ID and CLIENT_SECRET"), for invalid_client advice. */
  credentialSource?: string | undefined;
  /**
   * What the refused request presented instead of a secret: a signed assertion or a platform
   * token. The server's reason for refusing it (expired, unknown key, wrong audience) is then
   * part of the message: unlike a wrong secret, it tells the owner what to fix.
   */
  assertion?: "private_key_jwt" | "platform_token" | undefined;
}

/**
 * A failed token request. `code` is stable and meant for `switch`; the message says what to
 * do about it. Neither ever contains the client secret or a token.
 */
export class TokenError extends Error {
  override readonly name = "TokenError";
  /** True when another attempt may succeed (server_error, 5xx/429, UNAVAILABLE, network). */
  readonly retryable: boolean;
  /** How many requests were made before giving up; set by the retry loop. */
  attempts = 1;

  constructor(
    readonly code: TokenErrorCode | (string & {}),
    /** The server's error_description, or what went wrong locally; shortened. */
    readonly description: string,
    readonly context: TokenErrorContext = {},
  ) {
    // One line: a TLS library's reason comes with its own line breaks.
    const flat = description.replace(/\s+/g, " ").trim();
    const short = flat.length > MAX_DESCRIPTION ? `${flat.slice(0, MAX_DESCRIPTION)}…` : flat;
    super(advice(code, short, context), context.cause === undefined ? undefined : { cause: context.cause });
    this.description = short;
    this.retryable = RETRYABLE.has(code);
  }
}

/** Every error as one sentence a person can act on. */
function advice(code: string, description: string, ctx: TokenErrorContext): string {
  const where = ctx.target ? ` at ${ctx.target}` : "";
  switch (code) {
    case "invalid_client":
      return invalidClientAdvice(description, ctx);
    case "invalid_scope":
      return `Invalid scope requested: ${description}. Request only scopes the client is allowed.`;
    case "invalid_target":
      return `Invalid audience requested: ${description}. Request only audiences the client is allowed.`;
    case "unauthorized_client":
      return "Client not authorized for client_credentials grant type.";
    case "invalid_request":
      return `The token service rejected the request as malformed: ${description}.`;
    case "server_error":
      return `The token service${where} failed (server_error: ${description}); retry later.`;
    case "temporarily_unavailable":
      return `The token service${where} is unavailable or overloaded (${description}); retry later.`;
    case "network_error":
      return `Could not reach the token service${where}: ${description}. Check the server URL and the network.`;
    case "timeout":
      return `The token service${where} did not answer within ${ctx.timeoutMs ?? "?"} ms.`;
    case "invalid_response":
      return `The token service${where} sent an answer that is not a token response: ${description}.`;
    case "aborted":
      return `The token request was aborted ${description}.`;
    default:
      return `OAuth2 error: ${code} - ${description}`;
  }
}

function invalidClientAdvice(description: string, ctx: TokenErrorContext): string {
  if (ctx.assertion === undefined) return `Invalid client credentials. Check ${ctx.credentialSource ?? "CLIENT_ID and CLIENT_SECRET"}.`;
  const what = ctx.assertion === "private_key_jwt" ? "signed client assertion" : "platform token";
  const registered =
    ctx.assertion === "private_key_jwt"
      ? "that its public key is registered for the client"
      : "that the client trusts this platform token (its federated credentials)";
  return `The token service refused the ${what}: ${description.replace(/\.$/, "")}. Check ${ctx.credentialSource ?? "CLIENT_ID"}, and ${registered}.`;
}

/** The `aborted` error for a caller whose signal fired (`reason` becomes the cause), or for a closed client. */
export function abortedError(by: "caller" | "close", reason?: unknown): TokenError {
  return by === "caller"
    ? new TokenError("aborted", "by the caller", reason === undefined ? {} : { cause: reason })
    : new TokenError("aborted", "because the token client was closed");
}

/**
 * A copy of `shared` for one caller of a request many callers waited for: its stack shows
 * this caller's own call site (V8 records it when the copy is made inside the caller's await
 * chain), and the shared error is its `cause`.
 */
export function errorForCaller(shared: TokenError): TokenError {
  const own = new TokenError(shared.code, shared.description, { ...shared.context, cause: shared });
  own.attempts = shared.attempts;
  return own;
}

/** A missing or unusable client configuration (credentials, server URL), found before any request. */
export class ClientConfigError extends Error {
  override readonly name = "ClientConfigError";
}
