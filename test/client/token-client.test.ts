import { describe, expect, it } from "vitest";
import { TokenError } from "../../src/client/errors.js";
import { TokenClient } from "../../src/client/token-client.js";
import type { TokenClientOptions } from "../../src/client/token-client-options.js";
import { FakeEndpoint, token } from "./fake-endpoint.js";
import { FakeScheduler, settle } from "./fake-scheduler.js";

const CREDS = { clientId: "tcl_test", clientSecret: "tsec_test" };

function setup(script: ConstructorParameters<typeof FakeEndpoint>[0] = [], options: TokenClientOptions = {}) {
  const endpoint = new FakeEndpoint(script);
  const scheduler = new FakeScheduler();
  const client = new TokenClient({ ...CREDS, endpoint, scheduler, random: () => 0.5, ...options });
  return { endpoint, scheduler, client };
}

describe("TokenClient caching", () => {
  it("reuses a one-hour token until 5 minutes before expiry, then fetches a new one", async () => {
    const { endpoint, scheduler, client } = setup([token(3600, "first"), token(3600, "second")]);
    expect(await client.getToken()).toBe("first");
    await scheduler.advance(3_300_000 - 1);
    expect(await client.getToken()).toBe("first");
    expect(endpoint.count).toBe(1);
    await scheduler.advance(1);
    expect(await client.getToken()).toBe("second");
    expect(endpoint.count).toBe(2);
  });

  it("caps the margin at half the lifetime, so a 60-second token is reused for 30 s", async () => {
    const { endpoint, scheduler, client } = setup([token(60, "a"), token(60, "b")]);
    expect(await client.getToken()).toBe("a");
    await scheduler.advance(29_999);
    expect(await client.getToken()).toBe("a");
    await scheduler.advance(1);
    expect(await client.getToken()).toBe("b");
    expect(endpoint.count).toBe(2);
  });

  it("honours a custom refresh margin", async () => {
    const { endpoint, scheduler, client } = setup([token(600, "a"), token(600, "b")], { refreshMarginMs: 60_000 });
    await client.getToken();
    await scheduler.advance(539_999);
    expect(await client.getToken()).toBe("a");
    await scheduler.advance(1);
    expect(await client.getToken()).toBe("b");
    expect(endpoint.count).toBe(2);
  });

  it("keeps one token per scope and audience, whatever their order", async () => {
    const { endpoint, client } = setup();
    const read = await client.getToken({ scope: "read" });
    const rw = await client.getToken({ scope: "read write" });
    const aud = await client.getToken({ scope: "read", audience: "https://a.example" });
    expect(new Set([read, rw, aud]).size).toBe(3);
    expect(await client.getToken({ scope: "write read" })).toBe(rw);
    expect(await client.getToken({ scope: "read", audience: ["https://a.example"] })).toBe(aud);
    expect(endpoint.count).toBe(3);
    expect(endpoint.requests.map((r) => r.request)).toEqual([
      { scope: "read", audiences: [] },
      { scope: "read write", audiences: [] },
      { scope: "read", audiences: ["https://a.example"] },
    ]);
  });

  it("uses the constructor's scope and audience as defaults", async () => {
    const { endpoint, client } = setup([], { scope: "read", audience: "https://api.example" });
    await client.getToken();
    expect(endpoint.requests[0]!.request).toEqual({ scope: "read", audiences: ["https://api.example"] });
  });

  it("reports expiry and granted scope through getTokenDetails", async () => {
    const { scheduler, client } = setup([token(120, "t", "read")]);
    const start = scheduler.now();
    expect(await client.getTokenDetails()).toEqual({ accessToken: "t", expiresAt: start + 120_000, scope: "read" });
  });
});

describe("TokenClient single flight", () => {
  it("makes exactly one request for 100 concurrent getToken calls, and all get its token", async () => {
    const { endpoint, client } = setup(["hang"]);
    const calls = Array.from({ length: 100 }, () => client.getToken());
    await settle();
    expect(endpoint.count).toBe(1);
    endpoint.hanging[0]!(token(3600, "shared"));
    expect(new Set(await Promise.all(calls))).toEqual(new Set(["shared"]));
    expect(endpoint.count).toBe(1);
  });

  it("gives each waiter its own error, with its own call site in the stack and the shared error as cause", async () => {
    const refused = new TokenError("invalid_scope", "The scope admin is not allowed for this client");
    const { endpoint, client } = setup(["hang"]);
    // Two places in a program that need a token at the same moment.
    async function billingRun() {
      return await client.getToken();
    }
    async function reportRun() {
      return await client.getToken();
    }
    const calls = [billingRun(), reportRun(), billingRun()].map((p) => p.catch((e: unknown) => e as TokenError));
    await settle();
    endpoint.hanging[0]!(refused);
    const [billing, report, billingAgain] = (await Promise.all(calls)) as [TokenError, TokenError, TokenError];
    expect(endpoint.count).toBe(1);
    expect(new Set([billing, report, billingAgain]).size).toBe(3);
    for (const err of [billing, report, billingAgain]) {
      expect(err).toBeInstanceOf(TokenError);
      expect(err).toMatchObject({ code: "invalid_scope", message: refused.message, retryable: false, attempts: 1 });
      expect(err.cause).toBe(refused);
    }
    expect(billing.stack).toContain("billingRun");
    expect(billing.stack).not.toContain("reportRun");
    expect(report.stack).toContain("reportRun");
    expect(report.stack).not.toContain("billingRun");
    expect(await client.getToken()).toMatch(/^tok-/);
    expect(endpoint.count).toBe(2);
  });

  it("lets one caller stop waiting without cancelling the request the others share", async () => {
    const { endpoint, client } = setup(["hang"]);
    const impatient = new AbortController();
    const a = client.getToken({ signal: impatient.signal }).catch((e: unknown) => e);
    const b = client.getToken();
    await settle();
    const why = new Error("gave up");
    impatient.abort(why);
    expect(await a).toMatchObject({
      name: "TokenError",
      code: "aborted",
      message: "The token request was aborted by the caller.",
      cause: why,
    });
    endpoint.hanging[0]!(token(3600, "still-delivered"));
    expect(await b).toBe("still-delivered");
  });
});

describe("TokenClient invalidate", () => {
  it("drops the cached token so the next call fetches a new one", async () => {
    const { endpoint, client } = setup();
    const first = await client.getToken();
    client.invalidate();
    expect(await client.getToken()).not.toBe(first);
    expect(endpoint.count).toBe(2);
  });

  it("with a token, drops only that token: a newer one fetched meanwhile stays", async () => {
    const { endpoint, client } = setup();
    const old = await client.getToken();
    client.invalidate(old);
    const fresh = await client.getToken();
    client.invalidate(old); // a late 401 for the old token must not evict the new one
    expect(await client.getToken()).toBe(fresh);
    expect(endpoint.count).toBe(2);
  });
});

describe("TokenClient background refresh", () => {
  it("renews at the refresh point by itself, so callers never wait", async () => {
    const { endpoint, scheduler, client } = setup([token(3600, "a"), token(3600, "b")], { backgroundRefresh: true });
    expect(await client.getToken()).toBe("a");
    await scheduler.advance(3_300_000);
    expect(endpoint.count).toBe(2);
    expect(await client.getToken()).toBe("b");
    expect(endpoint.count).toBe(2);
  });

  it("hands out the still-valid token while a renewal is in flight", async () => {
    const { endpoint, scheduler, client } = setup([token(60, "a"), "hang"], { backgroundRefresh: true });
    await client.getToken();
    await scheduler.advance(30_000); // timer fires; the renewal hangs
    expect(endpoint.count).toBe(2);
    expect(await client.getToken()).toBe("a");
    expect(endpoint.count).toBe(2);
    endpoint.hanging[0]!(token(60, "b"));
    await settle();
    expect(await client.getToken()).toBe("b");
  });

  it("after a failed renewal keeps serving the old token, retries with backoff, and waits for a new one only once it is nearly expired", async () => {
    const down = new TokenError("temporarily_unavailable", "HTTP 503");
    const { endpoint, scheduler, client } = setup([token(60, "a"), ...Array.from({ length: 40 }, () => down)], {
      backgroundRefresh: true,
      retry: { maxDelayMs: 2_000 },
    });
    await client.getToken();
    await scheduler.advance(30_000); // the refresh point: one request, which fails
    expect(endpoint.count).toBe(2);
    await scheduler.advance(20_000); // retried in the background: 100, 200, 400, 800, then every 1000 ms
    expect(endpoint.count).toBeGreaterThan(10);
    expect(await client.getToken()).toBe("a");
    await scheduler.advance(5_000); // 55 s: within 5 s of expiry; no more background tries
    const tries = endpoint.count;
    const late = client.getToken().catch((e: unknown) => e);
    await scheduler.advance(10_000);
    expect(await late).toMatchObject({ code: "temporarily_unavailable", attempts: 4 });
    expect(endpoint.count).toBe(tries + 4);
  });

  it("stops its timers on close", async () => {
    const { endpoint, scheduler, client } = setup([token(3600, "a"), "hang"], { backgroundRefresh: true });
    await client.getToken();
    expect(scheduler.pending).toBe(1);
    await client.close();
    expect(scheduler.pending).toBe(0);
    await scheduler.advance(3_600_000);
    expect(endpoint.count).toBe(1);
  });

  it("fails calls still waiting when closed, with code aborted", async () => {
    const { client } = setup(["hang"]);
    const pending = client.getToken().catch((e: unknown) => e);
    await settle();
    await client.close();
    expect(await pending).toMatchObject({ name: "TokenError", code: "aborted", retryable: false });
  });
});
