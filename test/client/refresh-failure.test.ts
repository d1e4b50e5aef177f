import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { TokenError } from "../../src/client/errors.js";
import { TokenMetricsRecorder } from "../../src/client/metrics-recorder.js";
import { prometheusTokenMetrics } from "../../src/client/prometheus-metrics.js";
import { TokenClient } from "../../src/client/token-client.js";
import type { TokenClientOptions } from "../../src/client/token-client-options.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { FakeEndpoint, type Step, token } from "./fake-endpoint.js";
import { FakeScheduler } from "./fake-scheduler.js";

// A refresh that fails while the cached token still has minutes left must not fail callers:
// they keep the cached token until it really expires, the failure is reported through the
// metrics and logger hooks, and the refresh is retried in the background with backoff.

const down = () => new TokenError("temporarily_unavailable", "HTTP 503", { status: 503 });
const unreachable = () => new TokenError("network_error", "connect ECONNREFUSED 127.0.0.1:1");

/** A logger that keeps its warnings. */
function recordingLogger() {
  const warnings: Array<{ msg: string; obj: Record<string, unknown> }> = [];
  return { warnings, warn: (obj: object, msg: string) => warnings.push({ msg, obj: obj as Record<string, unknown> }) };
}

function setup(script: Step[], options: TokenClientOptions = {}) {
  const endpoint = new FakeEndpoint(script);
  const scheduler = new FakeScheduler();
  const metrics = new TokenMetricsRecorder();
  const logger = recordingLogger();
  const client = new TokenClient({ clientId: "c", clientSecret: "s", endpoint, scheduler, metrics, logger, random: () => 0.5, ...options });
  return { endpoint, scheduler, client, metrics, logger };
}

/**
 * Settles `p`, an outcome or an error. When it waits on the fake clock (a retry series in front
 * of the caller), the clock is moved 10 ms at a time, letting real I/O run in between.
 */
async function settleWith<T>(scheduler: FakeScheduler, p: Promise<T>): Promise<T | unknown> {
  let done = false;
  const outcome = p.then(
    (v) => ((done = true), v),
    (e: unknown) => ((done = true), e),
  );
  for (let i = 0; i < 5_000 && !done; i++) {
    await new Promise((r) => setTimeout(r, 1));
    if (!done) await scheduler.advance(10);
  }
  return outcome;
}

const REFRESH_AT = 3_300_000; // a one-hour token enters its 5-minute refresh margin

describe("a failed refresh inside the refresh margin (fake clock)", () => {
  for (const [name, failure] of [
    ["the token endpoint answers 503", down],
    ["the token endpoint is unreachable", unreachable],
  ] as const) {
    it(`${name}: getToken keeps answering the cached token, reports the failure, retries in the background`, async () => {
      const { endpoint, scheduler, client, metrics, logger } = setup([
        token(3600, "a"),
        ...Array.from({ length: 6 }, failure),
        token(3600, "b"),
      ]);
      expect(await client.getToken()).toBe("a");
      await scheduler.advance(REFRESH_AT);
      expect(await settleWith(scheduler, client.getToken())).toBe("a");
      expect(endpoint.count).toBe(2); // one refresh request, not a whole retry series in front of the caller
      expect(metrics.snapshot().refreshFailures).toBe(1);
      const code = failure().code;
      expect(logger.warnings.at(-1)).toEqual({
        msg: "token refresh failed; the cached token is used until it expires",
        obj: expect.objectContaining({ code, failures: 1, token_expires_in_ms: 300_000, retry_in_ms: 100 }) as object,
      });
      // The next try waits its backoff on a background timer; callers meanwhile get the cached token at once.
      expect(scheduler.requested.at(-1)).toEqual({ ms: 100, background: true });
      expect(await client.getToken()).toBe("a");
      expect(endpoint.count).toBe(2);
      // Backoff: 100, 200, 400, 800, 1600 ms; the sixth failure, then the token.
      await scheduler.advance(100 + 200 + 400 + 800 + 1_600 + 3_200);
      expect(endpoint.count).toBe(8);
      expect(metrics.snapshot().refreshFailures).toBe(6);
      expect(await client.getToken()).toBe("b");
      expect(endpoint.count).toBe(8);
    });
  }

  it("throws only once no valid token remains", async () => {
    const { endpoint, scheduler, client } = setup([token(600, "a"), ...Array.from({ length: 200 }, unreachable)], {
      retry: { maxDelayMs: 10_000 },
    });
    await client.getToken();
    await scheduler.advance(300_000); // the margin is half of a 10-minute token
    expect(await settleWith(scheduler, client.getToken())).toBe("a");
    await scheduler.advance(294_999); // 594.999 s: still usable
    expect(await client.getToken()).toBe("a");
    await scheduler.advance(1); // 595 s: within 5 s of expiry, never handed out
    const tries = endpoint.count;
    const err = await settleWith(scheduler, client.getToken());
    expect(err).toMatchObject({ name: "TokenError", code: "network_error", attempts: 4 });
    expect(endpoint.count).toBe(tries + 4);
  });

  it("exports failed refreshes to Prometheus", async () => {
    const registry = new Registry();
    const { scheduler, client } = setup([token(3600, "a"), down()], { metrics: prometheusTokenMetrics(registry) });
    await client.getToken();
    await scheduler.advance(REFRESH_AT);
    expect(await client.getToken()).toBe("a");
    expect(await registry.metrics()).toContain(
      'tessera_client_token_refresh_failures_total{transport="fake",code="temporarily_unavailable"} 1',
    );
  });
});

describe("a failed refresh against the real server, stopped under the client", () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.stop().catch(() => {});
    server = undefined;
  });

  for (const transport of ["http", "grpc"] as const) {
    it(`over ${transport}: serves the cached token until it expires, then fails with the network error`, async () => {
      server = await startTestServer();
      const creds = await server.createClient({ scopes: ["read"] });
      const scheduler = new FakeScheduler(Date.now());
      const metrics = new TokenMetricsRecorder();
      const client = new TokenClient({ server: server.url, transport, ...creds, scheduler, metrics, random: () => 0.5 });
      const first = await client.getToken();
      await server.stop();
      server = undefined;
      await scheduler.advance(REFRESH_AT);
      // One request, settled by real I/O alone. The clock stands still meanwhile, so the retry
      // the failure schedules (a jittered wait, as short as 0 ms) cannot run before the count.
      expect(await client.getToken()).toBe(first);
      expect(metrics.snapshot()).toMatchObject({ refreshFailures: 1, failures: { network_error: 1 } });
      await scheduler.advance(295_000); // 5 s before expiry: no longer handed out
      const err = await settleWith(scheduler, client.getToken());
      expect(err).toMatchObject({ name: "TokenError", code: "network_error" });
      await client.close();
    });
  }
});
