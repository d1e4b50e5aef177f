import { backoffDelay, type RetryPolicy } from "./backoff.js";
import { ClientAssertion } from "./client-assertion.js";
import type { ClientAuthentication, ClientAuthenticationProvider } from "./client-authentication.js";
import { TokenError } from "./errors.js";
import type { TokenLogger, TokenMetrics } from "./metrics.js";
import { abortable, type Scheduler, sleep } from "./scheduler.js";
import type { GrantRequest, IssuedToken, TokenEndpoint } from "./token-endpoint.js";

/** What the retry loop needs, passed in. */
export interface RequestTokenDeps {
  endpoint: TokenEndpoint;
  authentication: ClientAuthenticationProvider;
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
 * while the error is retryable and the attempt and time budgets allow. The time budget holds
 * for the requests too: an attempt's timeout is cut to what is left of maxElapsedMs. Each
 * attempt authenticates anew (a fresh assertion, a re-read file), under the attempt's
 * timeout. Stops at once when `signal` aborts, and sends nothing when it already has. Throws
 * the last TokenError, with `attempts` set.
 */
export async function requestToken(deps: RequestTokenDeps, request: GrantRequest, signal: AbortSignal): Promise<ObtainedToken> {
  const { scheduler, endpoint, policy } = deps;
  const began = scheduler.now();
  const auth = deps.authentication;
  const logged = {
    client_id: auth.clientId,
    auth: auth.method,
    scope: request.scope,
    audience: request.audiences,
    transport: endpoint.transport,
  };
  for (let attempt = 1; ; attempt++) {
    if (signal.aborted) throw signal.reason;
    const event = { transport: endpoint.transport, attempt };
    const sentAt = scheduler.now();
    const timeoutMs = Math.max(1, Math.min(deps.timeoutMs, policy.maxElapsedMs - (sentAt - began)));
    deps.metrics.requestStarted?.(event);
    deps.logger.debug?.({ ...logged, attempt }, "requesting client credentials token");
    let credentials: ClientAuthentication | undefined;
    try {
      const token = await withTimeout(deps, timeoutMs, signal, async (s) => {
        credentials = await auth.next(s);
        return endpoint.issue(credentials, request, s);
      });
      deps.metrics.requestSucceeded?.({ ...event, latencyMs: scheduler.now() - sentAt });
      deps.logger.debug?.({ ...logged, attempt, expires_in: token.expiresIn, granted_scope: token.scope }, "token received");
      return { token, sentAt };
    } catch (caught) {
      if (!(caught instanceof TokenError)) throw caught; // a bug, not a failed request: surface it as is
      const err =
        caught.code === "invalid_client" && credentials?.source !== undefined && caught.context.credentialSource === undefined
          ? new TokenError(caught.code, caught.description, {
              ...caught.context,
              credentialSource: credentials.source,
              assertion: credentials instanceof ClientAssertion ? credentials.kind : undefined,
            })
          : caught;
      err.attempts = attempt;
      const delay = backoffDelay(attempt, policy, deps.random, err.context.retryAfterMs);
      // Strictly less: a retry that would start with no time left could only time out.
      const willRetry =
        err.retryable && !signal.aborted && attempt < policy.maxAttempts && scheduler.now() + delay - began < policy.maxElapsedMs;
      deps.metrics.requestFailed?.({ ...event, latencyMs: scheduler.now() - sentAt, code: err.code, willRetry });
      deps.logger.warn?.({ ...logged, attempt, code: err.code, retry_in_ms: willRetry ? delay : undefined }, "token request failed");
      if (!willRetry) throw err;
      await sleep(scheduler, delay, signal);
    }
  }
}

/** Runs `fn` with a signal that aborts after `timeoutMs` (a TokenError "timeout") or with `outer`. */
async function withTimeout<T>(
  deps: RequestTokenDeps,
  timeoutMs: number,
  outer: AbortSignal,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const timeout = new AbortController();
  // The caller awaits this request: a foreground timer, so the process stays up until it fires.
  const timer = deps.scheduler.setTimeout(
    () => timeout.abort(new TokenError("timeout", "no answer", { target: deps.endpoint.target, timeoutMs })),
    timeoutMs,
  );
  try {
    const signal = AbortSignal.any([outer, timeout.signal]);
    // abortable: the timeout holds even for an endpoint that ignores its signal.
    return await abortable(fn(signal), signal);
  } finally {
    deps.scheduler.clearTimeout(timer);
  }
}
