import http2 from "node:http2";
import type * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config.js";
import { grpcClient } from "../../helpers/grpc-js.js";
import { startTestServer, type TestServer } from "../../helpers/test-server.js";
import { formPost, grpcCall, h2Exchange } from "./wire.js";

// The defaults, as `tessera serve` starts with no limit settings: failed authentications are
// throttled (10 per 60 s per client id); request rates of successful clients are not limited.

describe("default limit settings", () => {
  it("turn the failure throttle on and the request-rate limits off", () => {
    const c = loadConfig({}, {});
    expect(c).toMatchObject({ authFailureLimit: 10, authFailureWindowMs: 60_000, clientRps: 0, ipRps: 0 });
    expect(c).toMatchObject({ maxBodyBytes: 16_384, maxHeaderBytes: 16_384, maxMessageBytes: 65_536, maxDeadlineMs: 300_000 });
    expect(c).toMatchObject({ requestTimeoutMs: 30_000, idleTimeoutMs: 60_000 });
  });

  it("give a burst of twice the rate when only the rate is set", () => {
    const c = loadConfig({}, { TESSERA_CLIENT_RPS: "5", TESSERA_IP_RPS: "7" });
    expect(c).toMatchObject({ clientRps: 5, clientBurst: 10, ipRps: 7, ipBurst: 14 });
  });

  it("cache 100,000 clients per process unless told otherwise, and refuse a size that is not a count", () => {
    expect(loadConfig({}, {}).clientCacheSize).toBe(100_000);
    expect(loadConfig({ clientCacheSize: "0" }, {}).clientCacheSize).toBe(0);
    expect(loadConfig({}, { TESSERA_CLIENT_CACHE_SIZE: "250000" }).clientCacheSize).toBe(250_000);
    expect(() => loadConfig({ clientCacheSize: "lots" }, {})).toThrow(/--client-cache-size.*a number of clients from 0/);
  });
});

describe("the real server with default settings", () => {
  let now = Date.parse("2026-11-26T12:00:00Z");
  let server: TestServer;
  let tokens: grpc.Client;

  beforeAll(async () => {
    server = await startTestServer({ clock: () => now });
    tokens = grpcClient("TokenService", server.port);
  });
  afterAll(async () => {
    tokens?.close();
    await server?.stop();
  });

  it("never throttles one well-behaved client making 2,000 quick token requests (1,800 form over h2, 200 gRPC)", async () => {
    const c = await server.createClient({ scopes: ["read"] });
    const form = new URLSearchParams({ grant_type: "client_credentials", client_id: c.clientId, client_secret: c.clientSecret }).toString();
    const statuses = new Map<number, number>();
    const count = (s: number) => statuses.set(s, (statuses.get(s) ?? 0) + 1);
    // 20 workers in parallel, each a bounded number of requests; the clock does not move, so
    // any bucket at all would run dry.
    const session = http2.connect(server.url);
    session.on("error", () => {}); // a failure shows as a missing status below
    try {
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          for (let i = 0; i < 90; i++) {
            const a = await h2Exchange(
              session,
              { ":method": "POST", ":path": "/oauth/token", "content-type": "application/x-www-form-urlencoded" },
              form,
            );
            count(a.status ?? 0);
          }
        }),
      );
    } finally {
      session.close();
    }
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        for (let i = 0; i < 20; i++) {
          const a = await grpcCall(tokens, "IssueToken", { client_id: c.clientId, client_secret: c.clientSecret });
          count(a.ok ? 200 : 1000 + a.code);
        }
      }),
    );
    expect(Object.fromEntries(statuses)).toStrictEqual({ 200: 2000 });
  });

  it("throttles a client id from one address after 10 wrong secrets: the 11th attempt is 429 with Retry-After: 6", async () => {
    const c = await server.createClient();
    const post = (secret: string) =>
      formPost(`${server.url}/oauth/token`, { grant_type: "client_credentials", client_id: c.clientId, client_secret: secret });
    for (let i = 0; i < 10; i++) expect((await post(`wrong-${i}`)).status).toBe(401);
    const throttled = await post(c.clientSecret);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get("retry-after")).toBe("6");
    expect(throttled.json).toStrictEqual({
      error: "temporarily_unavailable",
      error_description: "Too many failed authentication attempts for this client from this address; retry in 6s",
    });
    now += 6_000;
    expect((await post(c.clientSecret)).status).toBe(200);
  });
});
