import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { connectNodeAdapter, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Serving } from "../../gen/grpc/health/v1/health_pb.js";
import { accessTokenInterceptor } from "../../src/verify/connect-interceptor.js";
import { KeySetUnavailableError } from "../../src/verify/errors.js";
import { protect } from "../../src/verify/http-middleware.js";
import { createVerifier } from "../../src/verify/verifier.js";
import { type FakeIssuer, fakeIssuer } from "./fake-issuer.js";

// The verifier's first key-set fetch is limited like a refetch for an unknown kid: one fetch
// at a time, and while the issuer is failing, none before the cooldown (30 s) has passed,
// however many requests arrive. A real HTTP JWKS server counts what reaches it.

let iss: FakeIssuer;
let jwks: http.Server;
let jwksUri: string;
let healthy = false;
let fetches = 0;
let now = Date.now();
const clock = () => now;
const servers: http.Server[] = [];

beforeAll(async () => {
  iss = await fakeIssuer();
  jwks = http.createServer((_req, res) => {
    fetches++;
    if (!healthy) return res.writeHead(503).end("down");
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [iss.publicJwk()] }));
  });
  await new Promise<void>((r) => jwks.listen(0, "127.0.0.1", r));
  jwksUri = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
});
afterAll(async () => {
  for (const s of [jwks, ...servers]) await new Promise<void>((r) => s.close(() => r()));
});
beforeEach(() => {
  healthy = false;
  fetches = 0;
  now = Date.now();
});

const options = () => ({ issuer: iss.issuer, audience: "https://api.test", jwksUri, clock });

describe("the first key-set fetch while the JWKS endpoint answers 503", () => {
  it("50 verifications, one after another, make one fetch; the next comes after the cooldown", async () => {
    const verify = createVerifier(options());
    const token = await iss.sign();
    const failures: unknown[] = [];
    for (let i = 0; i < 50; i++) failures.push(await verify(token).catch((e: unknown) => e));
    expect(fetches).toBe(1);
    expect(failures.every((e) => e instanceof KeySetUnavailableError)).toBe(true);
    expect((failures[0] as Error).message).toBe(`The issuer's JWKS at ${jwksUri} answered HTTP 503.`);
    expect((failures.at(-1) as KeySetUnavailableError).retryAfterMs).toBe(30_000);
    now += 29_999;
    await verify(token).catch(() => {});
    expect(fetches).toBe(1);
    now += 1;
    healthy = true;
    expect((await verify(token)).clientId).toBe("tcl_1");
    expect(fetches).toBe(2);
  });

  it("50 concurrent verifications share one fetch", async () => {
    const verify = createVerifier(options());
    const token = await iss.sign();
    const results = await Promise.all(Array.from({ length: 50 }, () => verify(token).catch((e: unknown) => e)));
    expect(results.every((e) => e instanceof KeySetUnavailableError)).toBe(true);
    expect(fetches).toBe(1);
  });

  it("the middleware answers 503 with Retry-After until the cooldown ends, without asking the issuer again", async () => {
    const api = http.createServer(protect({ ...options(), onError: () => {} }, (_req, res) => void res.writeHead(200).end("ok")));
    servers.push(api);
    await new Promise<void>((r) => api.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(api.address() as AddressInfo).port}/`;
    const authorization = `Bearer ${await iss.sign()}`;
    const first = await fetch(url, { headers: { authorization } });
    expect([first.status, first.headers.get("retry-after")]).toEqual([503, "30"]);
    expect(await first.json()).toEqual({
      error: "temporarily_unavailable",
      error_description: "The token issuer's keys are unavailable; retry later",
    });
    now += 12_500;
    for (let i = 0; i < 49; i++) {
      const res = await fetch(url, { headers: { authorization } });
      expect([res.status, res.headers.get("retry-after")]).toEqual([503, "18"]);
    }
    expect(fetches).toBe(1);
    now += 17_500;
    healthy = true;
    expect((await fetch(url, { headers: { authorization } })).status).toBe(200);
    expect(fetches).toBe(2);
  });

  it("the Connect interceptor answers UNAVAILABLE with a retry-after trailer until the cooldown ends", async () => {
    const api = http2.createServer(
      connectNodeAdapter({
        interceptors: [accessTokenInterceptor({ ...options(), onError: () => {} })],
        routes: (router) => router.service(Health, { check: () => ({ status: Serving.SERVING }), async *watch() {} }),
      }),
    );
    const sessions: http2.ServerHttp2Session[] = [];
    api.on("session", (session) => sessions.push(session));
    await new Promise<void>((r) => api.listen(0, "127.0.0.1", r));
    const transport = createGrpcTransport({ baseUrl: `http://127.0.0.1:${(api.address() as AddressInfo).port}` });
    const health = createClient(Health, transport);
    const headers = { authorization: `Bearer ${await iss.sign()}` };
    // A failed call's trailers arrive on the error, as grpc-js and every other client shows them.
    const refused = async () => {
      const err = await health.check({}, { headers }).then(() => undefined, ConnectError.from);
      return [err?.code, err?.metadata.get("retry-after")];
    };
    try {
      expect(await refused()).toEqual([Code.Unavailable, "30"]);
      now += 12_500;
      for (let i = 0; i < 10; i++) expect(await refused()).toEqual([Code.Unavailable, "18"]);
      expect(fetches).toBe(1);
      now += 17_500;
      healthy = true;
      expect((await health.check({}, { headers })).status).toBe(Serving.SERVING);
      expect(fetches).toBe(2);
    } finally {
      for (const session of sessions) session.destroy();
      await new Promise<void>((r) => api.close(() => r()));
    }
  });
});
