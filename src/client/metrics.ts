/** One request to the token service, as the metrics hooks see it. */
export interface TokenRequestEvent {
  /** "http" or "grpc". */
  transport: string;
  /** 1 for the first request of a getToken, 2 for its first retry, and so on. */
  attempt: number;
}

/** A finished request: how long it took and, when it failed, why and whether it will be retried. */
export interface TokenResultEvent extends TokenRequestEvent {
  latencyMs: number;
  /** The TokenError code; absent on success. */
  code?: string | undefined;
  /** On failure: whether the retry loop will try again. */
  willRetry?: boolean | undefined;
}

/**
 * A refresh that failed while the cached token was still valid: callers keep getting the cached
 * token, and the refresh is tried again in the background.
 */
export interface TokenRefreshFailedEvent {
  /** "http" or "grpc". */
  transport: string;
  /** The TokenError code of the failed refresh. */
  code: string;
  /** Refreshes of this token that failed in a row, this one included. */
  failures: number;
  /** How long the cached token remains valid. */
  expiresInMs: number;
  /** When the next background refresh starts. */
  retryInMs: number;
}

/**
 * Hooks the client calls around token requests; every hook is optional. Plug in
 * TokenMetricsRecorder, prometheusTokenMetrics, or your own.
 */
export interface TokenMetrics {
  /** A request is about to be sent. */
  requestStarted?(event: TokenRequestEvent): void;
  /** A request returned a token. */
  requestSucceeded?(event: TokenResultEvent): void;
  /** A request failed. */
  requestFailed?(event: TokenResultEvent): void;
  /** getToken was answered from the cache without a request. */
  cacheHit?(): void;
  /** A refresh failed; the still-valid cached token is served meanwhile. */
  refreshFailed?(event: TokenRefreshFailedEvent): void;
}

/**
 * The subset of a pino-style logger the client uses. Log records carry the client id, scope,
 * audience, attempt and error code; never the secret, never a token.
 */
export interface TokenLogger {
  debug?(obj: object, msg: string): void;
  info?(obj: object, msg: string): void;
  warn?(obj: object, msg: string): void;
}
