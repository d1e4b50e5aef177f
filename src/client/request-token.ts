import { backoffDelay, type RetryPolicy } from "./backoff.js";
import type { CredentialsProvider } from "./credentials.js";
import { TokenError } from "./errors.js";
import type { TokenLogger, TokenMetrics } from "./metrics.js";
import { abortable, sleep, type Scheduler } from "./scheduler.js";
import type { GrantRequest, IssuedToken, TokenEndpoint } from "./token-endpoint.js";

/** What the retry loop needs, passed in. */
export interface RequestTokenDeps {
  endpoint: TokenEndpoint;
  credentials: CredentialsProvider;
  policy: RetryPolicy;
  /** Per-request timeout. */
  timeoutMs: number;
  scheduler: Scheduler;
  random: () => number;
  metrics: TokenMetrics;
  logger: TokenLogger;
}

/** A token and the moment the request that got it was sent (its lifetime counts from there). */
export interface ObtainedToken {
  token: IssuedToken;
  sentAt: number;
}

/**
 * Gets one token: each request under its own timeout, retried with backoff and full jitter
 * while the error is retryable and the attempt and time budgets allow. Stops at once when
 * `signal` aborts. Throws the last TokenError, with `attempts` set.
 */
export async function requestToken(deps: RequestTokenDeps, request: GrantRequest, signal: AbortSignal): Promise<ObtainedToken> {
  const { scheduler, endpoint, policy } = deps;
  const began = scheduler.now();
  const credentials = deps.credentials();
  const logged = { client_id: credentials.clientId, scope: request.scope, audience: request.audiences, transport: endpoint.transport };
  for (let attempt = 1; ; attempt++) {
    const event = { transport: endpoint.transport, attempt };
    const sentAt = scheduler.now();
    deps.metrics.requestStarted?.(event);
    deps.logger.debug?.({ ...logged, attempt }, "requesting client credentials token");
    try {
      const token = await withTimeout(deps, signal, (s) => endpoint.issue(credentials, request, s));
      deps.metrics.requestSucceeded?.({ ...event, latencyMs: scheduler.now() - sentAt });
      deps.logger.debug?.({ ...logged, attempt, expires_in: token.expiresIn, granted_scope: token.scope }, "token received");
      return { token, sentAt };
    } catch (err) {
      if (!(err instanceof TokenError)) throw err; // a bug, not a failed request: surface it as is
      err.attempts = attempt;
      const delay = backoffDelay(attempt, policy, deps.random, err.context.retryAfterMs);
      const willRetry =
        err.retryable && !signal.aborted && attempt < policy.maxAttempts && scheduler.now() + delay - began <= policy.maxElapsedMs;
      deps.metrics.requestFailed?.({ ...event, latencyMs: scheduler.now() - sentAt, code: err.code, willRetry });
      deps.logger.warn?.({ ...logged, attempt, code: err.code, retry_in_ms: willRetry ? delay : undefined }, "token request failed");
      if (!willRetry) throw err;
      await sleep(scheduler, delay, signal);
    }
  }
}

/** Runs `fn` with a signal that aborts after the timeout (a TokenError "timeout") or with `outer`. */
async function withTimeout<T>(deps: RequestTokenDeps, outer: AbortSignal, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const timeout = new AbortController();
  const timer = deps.scheduler.setTimeout(
    () => timeout.abort(new TokenError("timeout", "no answer", { target: deps.endpoint.target, timeoutMs: deps.timeoutMs })),
    deps.timeoutMs,
  );
  try {
    const signal = AbortSignal.any([outer, timeout.signal]);
    // abortable: the timeout holds even for an endpoint that ignores its signal.
    return await abortable(fn(signal), signal);
  } finally {
    deps.scheduler.clearTimeout(timer);
  }
}
