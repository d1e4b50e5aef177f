import fc from "fast-check";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { TokenError } from "../../src/client/errors.js";
import { LatencyHistogram } from "../../src/client/latency-histogram.js";
import { prometheusTokenMetrics } from "../../src/client/prometheus-metrics.js";
import { TokenClient } from "../../src/client/token-client.js";
import { FakeEndpoint, token } from "./fake-endpoint.js";

describe("LatencyHistogram", () => {
  it("keeps the true mean where a running 'average' of (avg + sample) / 2 drifts to the last samples", () => {
    const h = new LatencyHistogram();
    let runningAvg = 0;
    for (const ms of [100, 100, 100, 100, 2]) {
      h.observe(ms);
      runningAvg = (runningAvg + ms) / 2;
    }
    expect(h.mean).toBe(80.4);
    expect(runningAvg).toBeCloseTo(47.9, 1);
  });

  it("estimates any quantile within one bucket of the exact value", () => {
    const bounds = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 9_000 }), { minLength: 1, maxLength: 200 }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        (xs, q) => {
          const h = new LatencyHistogram();
          xs.forEach((x) => h.observe(x));
          const sorted = [...xs].sort((a, b) => a - b);
          const exact = sorted[Math.max(0, Math.ceil(q * xs.length) - 1)]!;
          const i = bounds.findIndex((b) => exact <= b);
          const lower = i <= 0 ? 0 : bounds[i - 1]!;
          const est = h.quantile(q);
          expect(est).toBeGreaterThanOrEqual(lower);
          expect(est).toBeLessThanOrEqual(bounds[i]!);
        },
      ),
    );
  });

  it("exposes cumulative Prometheus-style buckets", () => {
    const h = new LatencyHistogram([10, 100]);
    [5, 50, 500].forEach((x) => h.observe(x));
    expect(h.buckets()).toEqual([
      { le: 10, count: 1 },
      { le: 100, count: 2 },
      { le: "+Inf", count: 3 },
    ]);
  });
});

describe("prometheusTokenMetrics", () => {
  it("exports requests, failures by code, cache hits and a latency histogram", async () => {
    const registry = new Registry();
    const endpoint = new FakeEndpoint([new TokenError("server_error", "x"), token(3600)]);
    const client = new TokenClient({
      clientId: "c",
      clientSecret: "s",
      endpoint,
      metrics: prometheusTokenMetrics(registry),
      retry: { baseDelayMs: 0 }, // real timers, zero waits
    });
    await client.getToken();
    await client.getToken();
    const text = await registry.metrics();
    expect(text).toContain('tessera_client_token_requests_total{transport="fake"} 2');
    expect(text).toContain('tessera_client_token_request_failures_total{transport="fake",code="server_error"} 1');
    expect(text).toContain("tessera_client_token_cache_hits_total 1");
    expect(text).toContain('tessera_client_token_request_duration_seconds_count{transport="fake",outcome="success"} 1');
    expect(text).toContain('tessera_client_token_request_duration_seconds_count{transport="fake",outcome="failure"} 1');
  });
});
