/**
 * Why a request's access token was refused, as RFC 6750 §3.1 names it; `missing_token` is
 * the case where the request carried no token at all (answered without an error attribute).
 */
export type BearerErrorCode = "missing_token" | "invalid_request" | "invalid_token" | "insufficient_scope";

/** HTTP status for each case (RFC 6750 §3.1). */
export const BEARER_STATUS: Record<BearerErrorCode, number> = {
  missing_token: 401,
  invalid_request: 400,
  invalid_token: 401,
  insufficient_scope: 403,
};

/**
 * A refused access token. The message is safe to send back to the caller: it names what
 * is wrong with the token, never the token or the key material.
 */
export class BearerTokenError extends Error {
  override readonly name = "BearerTokenError";
  constructor(
    readonly code: BearerErrorCode,
    message: string,
    /** For insufficient_scope: the scopes the resource needs (RFC 6750 §3 `scope`). */
    readonly requiredScopes: readonly string[] = [],
  ) {
    super(message);
  }
}

/**
 * The issuer's keys could not be fetched (network, bad metadata). Not the caller's fault:
 * answered 503 / UNAVAILABLE, never as an invalid token.
 */
export class KeySetUnavailableError extends Error {
  override readonly name = "KeySetUnavailableError";
  /** When the keys will next be fetched, in milliseconds from now, if known: a Retry-After for the caller. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: { cause?: unknown; retryAfterMs?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** A Retry-After in whole seconds, at least 1: a Retry-After of 0 invites an immediate retry storm. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
