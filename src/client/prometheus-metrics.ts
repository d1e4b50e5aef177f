import { Counter, register as defaultRegistry, Histogram, type Registry } from "prom-client";
import type { TokenMetrics } from "./metrics.js";

/**
 * TokenMetrics that export to Prometheus through prom-client: requests, failures by code,
 * cache hits, and request latency as a histogram in seconds. Call once per registry
 * (prom-client refuses a metric name registered twice).
 */
export function prometheusTokenMetrics(registry: Registry = defaultRegistry, prefix = "tessera_client_"): TokenMetrics {
  const registers = [registry];
  const requests = new Counter({
    name: `${prefix}token_requests_total`,
    help: "Requests sent to the token service.",
    labelNames: ["transport"],
    registers,
  });
  const failures = new Counter({
    name: `${prefix}token_request_failures_total`,
    help: "Failed requests to the token service, by error code.",
    labelNames: ["transport", "code"],
    registers,
  });
  const refreshFailures = new Counter({
    name: `${prefix}token_refresh_failures_total`,
    help: "Refreshes that failed while the still-valid cached token was served instead, by error code.",
    labelNames: ["transport", "code"],
    registers,
  });
  const cacheHits = new Counter({ name: `${prefix}token_cache_hits_total`, help: "getToken calls answered from the cache.", registers });
  const duration = new Histogram({
    name: `${prefix}token_request_duration_seconds`,
    help: "Latency of requests to the token service.",
    labelNames: ["transport", "outcome"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  return {
    requestStarted: (e) => requests.inc({ transport: e.transport }),
    requestSucceeded: (e) => duration.observe({ transport: e.transport, outcome: "success" }, e.latencyMs / 1000),
    requestFailed: (e) => {
      failures.inc({ transport: e.transport, code: e.code ?? "unknown" });
      duration.observe({ transport: e.transport, outcome: "failure" }, e.latencyMs / 1000);
    },
    cacheHit: () => cacheHits.inc(),
    refreshFailed: (e) => refreshFailures.inc({ transport: e.transport, code: e.code }),
  };
}
