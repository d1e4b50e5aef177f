/** How token requests are retried. Defaults are in DEFAULT_RETRY_POLICY. */
export interface RetryPolicy {
  /** Requests in total, the first included. */
  maxAttempts: number;
  /** Ceiling of the first wait; it doubles per retry. */
  baseDelayMs: number;
  /** The most the doubling ceiling may grow to. */
  maxDelayMs: number;
  /**
   * The time budget from the first request on: no retry starts whose wait would end past it,
   * and a request's timeout is cut to what is left of it.
   */
  maxElapsedMs: number;
}

/** 4 attempts, waits drawn from [0, 200 ms), [0, 400 ms), [0, 800 ms), never past 30 s in total. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxAttempts: 4,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  maxElapsedMs: 30_000,
});

/**
 * The wait before retry number `retry` (1 for the first retry): exponential backoff with
 * full jitter, uniformly drawn from [0, min(maxDelay, base * 2^(retry-1))). Full jitter
 * spreads a fleet of clients that failed together, so they do not come back in lockstep.
 * A Retry-After from the server is a floor: we never come back sooner than asked.
 */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number, retryAfterMs?: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  const jittered = Math.floor(random() * ceiling);
  return retryAfterMs === undefined ? jittered : Math.max(jittered, retryAfterMs);
}
