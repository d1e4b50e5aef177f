import { Counter, collectDefaultMetrics, Gauge, type Metric, Registry } from "prom-client";
import { SeriesCounter, SeriesHistogram } from "./request-series.js";

/** Where the scrape-time gauges read their numbers. */
export interface MetricSources {
  keyStates: () => string[];
  counts: () => Promise<{ clients: number; revokedTokens: number }>;
}

/** Tessera's Prometheus metrics, on a registry of their own (no process-global state). */
export class Metrics {
  readonly registry = new Registry();
  /** Token, revocation and introspection requests by door, endpoint, outcome and OAuth error code. */
  readonly requests = new SeriesCounter(
    "tessera_token_requests_total",
    "Requests to the token, revocation and introspection endpoints, by transport (http, grpc), endpoint, outcome (success, error, aborted) and OAuth error code.",
    ["transport", "endpoint", "outcome", "error"],
  );
  /** Those requests again, by the client authentication method they used (when they presented credentials). */
  readonly authentications = new SeriesCounter(
    "tessera_client_authentications_total",
    "Token, revocation and introspection requests that presented client credentials, by endpoint, auth_method (client_secret_basic, client_secret_post, private_key_jwt, federated) and outcome.",
    ["endpoint", "auth_method", "outcome"],
  );
  /** Latency of those requests. */
  readonly latency = new SeriesHistogram(
    "tessera_token_request_duration_seconds",
    "Time to answer token, revocation and introspection requests, by transport and endpoint.",
    ["transport", "endpoint"],
    [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  );
  /** Requests refused by a rate limit or by failed-authentication throttling. */
  readonly rateLimited = new Counter({
    name: "tessera_rate_limited_total",
    help: "Requests refused by a limit, by limit (address, client, auth_failures, auth_failures_address: 429 / RESOURCE_EXHAUSTED; revocations: 503 / UNAVAILABLE).",
    labelNames: ["limit"] as const,
    registers: [this.registry],
  });
  /** Admin RPCs by service, method and gRPC code. */
  readonly adminCalls = new Counter({
    name: "tessera_admin_requests_total",
    help: "ClientAdmin and KeyAdmin calls by service, method and status code.",
    labelNames: ["service", "method", "code"] as const,
    registers: [this.registry],
  });
  /** Storage operations that failed. */
  readonly storageErrors = new Counter({
    name: "tessera_storage_errors_total",
    help: "Storage operations that failed, by operation and kind (unavailable: disk full or locked; error: anything else).",
    labelNames: ["operation", "kind"] as const,
    registers: [this.registry],
  });

  constructor(sources: MetricSources) {
    // The two per-request series are ours (request-series.ts: no label hashing per request);
    // the registry formats them like its own.
    this.registry.registerMetric(this.requests as unknown as Metric);
    this.registry.registerMetric(this.authentications as unknown as Metric);
    this.registry.registerMetric(this.latency as unknown as Metric);
    collectDefaultMetrics({ register: this.registry, prefix: "tessera_" });
    new Gauge({
      name: "tessera_signing_keys",
      help: "Published signing keys by state (next, current, retired).",
      labelNames: ["state"] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const state of ["next", "current", "retired"]) this.set({ state }, 0);
        for (const state of sources.keyStates()) this.inc({ state });
      },
    });
    const counts = { last: undefined as Promise<{ clients: number; revokedTokens: number }> | undefined };
    const read = () => (counts.last ??= sources.counts().finally(() => setTimeout(() => (counts.last = undefined), 1000)));
    new Gauge({
      name: "tessera_clients",
      help: "Registered clients.",
      registers: [this.registry],
      async collect() {
        this.set((await read()).clients);
      },
    });
    new Gauge({
      name: "tessera_revoked_tokens",
      help: "Entries on the revocation deny-list (revoked tokens not yet expired).",
      registers: [this.registry],
      async collect() {
        this.set((await read()).revokedTokens);
      },
    });
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
