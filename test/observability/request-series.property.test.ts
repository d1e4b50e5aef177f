import fc from "fast-check";
import { Counter, Histogram, type Metric, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { SeriesCounter, SeriesHistogram } from "../../src/observability/request-series.js";

// Our per-request series must scrape exactly like prom-client's own Counter and Histogram:
// the same observations go to both, and the exposition text must be identical.

const BUCKETS = [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const LABELS = ["transport", "endpoint"] as const;

function pair() {
  const theirs = new Registry();
  const counter = new Counter({
    name: "t_requests_total",
    help: "Requests, by transport and endpoint.",
    labelNames: LABELS,
    registers: [theirs],
  });
  const histogram = new Histogram({
    name: "t_duration_seconds",
    help: "Time \\ taken\nper request.",
    labelNames: LABELS,
    buckets: BUCKETS,
    registers: [theirs],
  });
  const ours = new Registry();
  const c = new SeriesCounter("t_requests_total", "Requests, by transport and endpoint.", LABELS);
  const h = new SeriesHistogram("t_duration_seconds", "Time \\ taken\nper request.", LABELS, BUCKETS);
  ours.registerMetric(c as unknown as Metric);
  ours.registerMetric(h as unknown as Metric);
  return { theirs, counter, histogram, ours, c, h };
}

const observation = fc.record({
  transport: fc.constantFrom("http", "grpc", 'odd"\\value\n'),
  endpoint: fc.constantFrom("token", "revoke", "introspect"),
  seconds: fc.oneof(fc.constantFrom(0, ...BUCKETS, 2, 1e-9), fc.double({ min: 0, max: 3, noNaN: true })),
});

describe("SeriesCounter and SeriesHistogram", () => {
  it("scrape byte for byte like prom-client's Counter and Histogram after the same observations", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(observation, { maxLength: 60 }), async (obs) => {
        const p = pair();
        for (const o of obs) {
          p.counter.inc({ transport: o.transport, endpoint: o.endpoint });
          p.histogram.observe({ transport: o.transport, endpoint: o.endpoint }, o.seconds);
          p.c.series(o.transport, o.endpoint).inc();
          p.h.series(o.transport, o.endpoint).observe(o.seconds);
        }
        expect(await p.ours.metrics()).toBe(await p.theirs.metrics());
      }),
      { numRuns: 200 },
    );
  });

  it("reset to zero with the registry, keeping the series", async () => {
    const p = pair();
    p.c.series("http", "token").inc();
    p.h.series("http", "token").observe(0.002);
    p.ours.resetMetrics();
    const text = await p.ours.metrics();
    expect(text).toContain('t_requests_total{transport="http",endpoint="token"} 0');
    expect(text).toContain('t_duration_seconds_count{transport="http",endpoint="token"} 0');
  });

  it("refuse a wrong number of label values and buckets that do not increase", () => {
    const c = new SeriesCounter("x_total", "x", LABELS);
    expect(() => c.series("http")).toThrow(/2 label values/);
    expect(() => new SeriesHistogram("y", "y", LABELS, [1, 1])).toThrow(/increase/);
  });
});
