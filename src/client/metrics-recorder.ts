import { LatencyHistogram } from "./latency-histogram.js";
import type { TokenMetrics, TokenResultEvent } from "./metrics.js";

/** A point-in-time copy of TokenMetricsRecorder's numbers, safe to log or serve as JSON. */
export interface TokenMetricsSnapshot {
  requests: number;
  successes: number;
  /** Failed requests by TokenError code. */
  failures: Record<string, number>;
  cacheHits: number;
  /** Refreshes that failed while a valid cached token was served instead. */
  refreshFailures: number;
  latencyMs: { count: number; mean: number; p50: number; p90: number; p99: number; max: number };
}

/** In-memory TokenMetrics: counters and a latency histogram, with no dependencies. */
export class TokenMetricsRecorder implements TokenMetrics {
  #requests = 0;
  #successes = 0;
  #cacheHits = 0;
  #refreshFailures = 0;
  readonly #failures = new Map<string, number>();
  /** Latency of every request, successful or not. */
  readonly latency = new LatencyHistogram();

  /** Counts a request. */
  requestStarted(): void {
    this.#requests++;
  }

  /** Counts a success and its latency. */
  requestSucceeded(event: TokenResultEvent): void {
    this.#successes++;
    this.latency.observe(event.latencyMs);
  }

  /** Counts a failure under its code, and its latency. */
  requestFailed(event: TokenResultEvent): void {
    const code = event.code ?? "unknown";
    this.#failures.set(code, (this.#failures.get(code) ?? 0) + 1);
    this.latency.observe(event.latencyMs);
  }

  /** Counts a getToken answered from the cache. */
  cacheHit(): void {
    this.#cacheHits++;
  }

  /** Counts a failed refresh (the cached token was served instead). */
  refreshFailed(): void {
    this.#refreshFailures++;
  }

  /** The numbers now. */
  snapshot(): TokenMetricsSnapshot {
    const h = this.latency;
    return {
      requests: this.#requests,
      successes: this.#successes,
      failures: Object.fromEntries(this.#failures),
      cacheHits: this.#cacheHits,
      refreshFailures: this.#refreshFailures,
      latencyMs: { count: h.count, mean: h.mean, p50: h.quantile(0.5), p90: h.quantile(0.9), p99: h.quantile(0.99), max: h.max },
    };
  }
}
