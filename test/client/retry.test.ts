import { describe, expect, it } from "vitest";
import { TokenError } from "../../src/client/errors.js";
import { TokenMetricsRecorder } from "../../src/client/metrics-recorder.js";
import { TokenClient } from "../../src/client/token-client.js";
import type { TokenClientOptions } from "../../src/client/token-client-options.js";
import { FakeEndpoint, type Step, token } from "./fake-endpoint.js";
import { FakeScheduler, settle } from "./fake-scheduler.js";

const fail = (code: string, retryAfterMs?: number) =>
  new TokenError(code, "test", retryAfterMs === undefined ? {} : { retryAfterMs, status: 429 });

function setup(script: Step[], options: TokenClientOptions = {}) {
  const endpoint = new FakeEndpoint(script);
  const scheduler = new FakeScheduler();
  const metrics = new TokenMetricsRecorder();
  const client = new TokenClient({ clientId: "c", clientSecret: "s", endpoint, scheduler, metrics, random: () => 0.999, ...options });
  return { endpoint, scheduler, client, metrics };
}

/** Starts getToken and runs the fake clock until it settles. */
async function run(client: TokenClient, scheduler: FakeScheduler): Promise<unknown> {
  let done = false;
  const p = client.getToken().then(
    (v) => ((done = true), v),
    (e: unknown) => ((done = true), e),
  );
  for (let i = 0; i < 1000 && !done; i++) await scheduler.advance(50);
  return p;
}

/** The waits between attempts: every setTimeout except the 10 s per-request timeouts. */
const waits = (s: FakeScheduler) => s.delays.filter((d) => d !== 10_000);

describe("retries", () => {
  for (const code of ["server_error", "temporarily_unavailable", "network_error", "timeout"]) {
    it(`retries ${code} with exponential backoff and full jitter`, async () => {
      const { endpoint, scheduler, client } = setup([fail(code), fail(code), fail(code), token(60, "ok")]);
      expect(await run(client, scheduler)).toBe("ok");
      expect(endpoint.count).toBe(4);
      expect(waits(scheduler)).toEqual([199, 399, 799]); // random 0.999 of 200, 400, 800
    });
  }

  for (const code of ["invalid_client", "invalid_scope", "unauthorized_client", "invalid_request", "invalid_target"]) {
    it(`never retries ${code}`, async () => {
      const { endpoint, scheduler, client } = setup([fail(code)]);
      const err = (await run(client, scheduler)) as TokenError;
      expect(err).toBeInstanceOf(TokenError);
      expect(err.code).toBe(code);
      expect(err.attempts).toBe(1);
      expect(endpoint.count).toBe(1);
      expect(waits(scheduler)).toEqual([]);
    });
  }

  it("draws every wait within its jitter bounds", async () => {
    let r = 0;
    const draws = [0, 0.25, 0.5, 0.75, 0.999];
    const { scheduler, client } = setup(
      Array.from({ length: 5 }, () => fail("server_error")),
      {
        random: () => draws[r++ % draws.length]!,
        retry: { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 1_000 },
      },
    );
    await run(client, scheduler);
    const ceilings = [100, 200, 400, 800, 1000];
    expect(waits(scheduler)).toEqual(ceilings.map((c, i) => Math.floor(draws[i]! * c)));
  });

  it("gives up after maxAttempts with the last error and the attempt count", async () => {
    const { endpoint, scheduler, client, metrics } = setup(Array.from({ length: 10 }, () => fail("server_error")));
    const err = (await run(client, scheduler)) as TokenError;
    expect(err.code).toBe("server_error");
    expect(err.attempts).toBe(4);
    expect(endpoint.count).toBe(4);
    expect(metrics.snapshot()).toMatchObject({ requests: 4, successes: 0, failures: { server_error: 4 } });
  });

  it("does not start a retry whose wait would end past maxElapsedMs", async () => {
    const { endpoint, scheduler, client } = setup(
      Array.from({ length: 10 }, () => fail("server_error")),
      {
        retry: { maxAttempts: 100, baseDelayMs: 1_000, maxDelayMs: 1_000, maxElapsedMs: 3_500 },
      },
    );
    const started = scheduler.now();
    await run(client, scheduler);
    // Each request's timeout is what is left of the budget (3500, 2501, ...), then a 999 ms wait.
    expect(scheduler.delays).toEqual([3_500, 999, 2_501, 999, 1_502, 999, 503]);
    expect(endpoint.count).toBe(4);
    expect(scheduler.now() - started).toBeLessThan(3_500 + 50);
  });

  it("cuts a request's timeout to what is left of maxElapsedMs, so no attempt runs past the budget", async () => {
    const { scheduler, client } = setup(["hang", "hang", "hang"], { timeoutMs: 3_000, random: () => 0, retry: { maxElapsedMs: 5_000 } });
    const err = (await run(client, scheduler)) as TokenError;
    expect(err).toMatchObject({ code: "timeout", attempts: 2 });
    expect(err.message).toBe("The token service at fake://tessera did not answer within 2000 ms.");
    expect(scheduler.delays).toEqual([3_000, 0, 2_000]); // timeout, backoff wait, the last 2 s of the budget
  });

  it("never lets a single request outlast maxElapsedMs", async () => {
    const { scheduler, client } = setup(["hang"], { timeoutMs: 10_000, retry: { maxElapsedMs: 5_000 } });
    expect(await run(client, scheduler)).toMatchObject({ code: "timeout", attempts: 1 });
    expect(scheduler.delays).toEqual([5_000]);
  });

  it("waits at least the server's Retry-After", async () => {
    const { scheduler, client } = setup([fail("temporarily_unavailable", 3_000), token(60, "ok")]);
    expect(await run(client, scheduler)).toBe("ok");
    expect(waits(scheduler)).toEqual([3_000]);
  });

  it("gives up at once when Retry-After is beyond the time budget", async () => {
    const { endpoint, scheduler, client } = setup([fail("temporarily_unavailable", 120_000), token(60, "ok")]);
    expect(await run(client, scheduler)).toMatchObject({ code: "temporarily_unavailable" });
    expect(endpoint.count).toBe(1);
  });

  it("times out a request that hangs, as a retryable timeout, and retries", async () => {
    const { endpoint, scheduler, client } = setup(["hang", token(60, "ok")], { timeoutMs: 2_000 });
    const p = client.getToken();
    await scheduler.advance(1_999);
    expect(endpoint.count).toBe(1);
    await scheduler.advance(1);
    await scheduler.advance(1_000);
    expect(await p).toBe("ok");
    expect(endpoint.count).toBe(2);
  });

  it("says how long it waited when every attempt times out", async () => {
    const { scheduler, client } = setup(["hang", "hang"], { timeoutMs: 1_000, retry: { maxAttempts: 2 } });
    const err = (await run(client, scheduler)) as TokenError;
    expect(err.code).toBe("timeout");
    expect(err.message).toBe("The token service at fake://tessera did not answer within 1000 ms.");
  });

  it("records latency of every attempt and counts failures by code", async () => {
    const { scheduler, client, metrics } = setup(["hang", fail("server_error"), token(60)], { timeoutMs: 1_000 });
    await run(client, scheduler);
    await client.getToken();
    const snap = metrics.snapshot();
    expect(snap).toMatchObject({ requests: 3, successes: 1, failures: { timeout: 1, server_error: 1 }, cacheHits: 1 });
    expect(snap.latencyMs.count).toBe(3);
    expect(snap.latencyMs.max).toBe(1_000);
  });
});

describe("retry loop cleanup", () => {
  it("leaves no timers behind after success", async () => {
    const { scheduler, client } = setup([fail("server_error"), token(60)]);
    await run(client, scheduler);
    await settle();
    expect(scheduler.pending).toBe(0);
  });
});
