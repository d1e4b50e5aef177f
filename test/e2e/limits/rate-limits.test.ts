import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basic, startTestServer, type TestServer } from "../../helpers/test-server.js";
import { useClockedServer } from "./clocked-server.js";
import { type FetchAnswer, formPost, type GrpcAnswer, grpcCall } from "./wire.js";

// Request-rate limits on POST /oauth/token and TokenService/IssueToken against the real
// server: token buckets per client id (TESSERA_CLIENT_RPS/BURST) and per source address
// (TESSERA_IP_RPS/BURST). A fake clock refills the buckets deterministically: nothing waits.

type Creds = { clientId: string; clientSecret: string };
const creds = (c: Creds) => ({ client_id: c.clientId, client_secret: c.clientSecret });

/** RFC 6585 §4: 429 with Retry-After and the OAuth error body, never cached. */
function expect429(a: FetchAnswer, seconds: number): void {
  expect(a.status).toBe(429);
  expect(a.headers.get("retry-after")).toBe(String(seconds));
  expect(a.headers.get("cache-control")).toBe("no-store");
  expect(a.json).toStrictEqual({ error: "temporarily_unavailable", error_description: `Too many requests; retry in ${seconds}s` });
}

/** gRPC: RESOURCE_EXHAUSTED, the OAuth code as ErrorInfo reason, retry-after in the trailers. */
function expectExhausted(a: GrpcAnswer<unknown>, seconds: number): void {
  expect(a.ok).toBe(false);
  if (a.ok) return;
  expect(a.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  expect(a.details).toBe(`Too many requests; retry in ${seconds}s`);
  expect(a.reason).toBe("temporarily_unavailable");
  expect(a.trailers["retry-after"]).toBe(String(seconds));
}

describe("per client id (TESSERA_CLIENT_RPS=2, TESSERA_CLIENT_BURST=3)", () => {
  // A minute later every bucket is full again.
  const t = useClockedServer({ TESSERA_CLIENT_RPS: "2", TESSERA_CLIENT_BURST: "3" }, 60_000);

  const token = (c: Creds) => formPost(t.url, { grant_type: "client_credentials", ...creds(c) });

  it("allows a burst of 3, answers the 4th with 429 and Retry-After: 1, and refills 2 per second", async () => {
    const a = await t.server.createClient();
    for (let i = 0; i < 3; i++) expect((await token(a)).status).toBe(200);
    expect429(await token(a), 1);
    t.now += 500; // one token back
    expect((await token(a)).status).toBe(200);
    expect429(await token(a), 1);
    t.now += 1000; // two more
    expect((await token(a)).status).toBe(200);
    expect((await token(a)).status).toBe(200);
    expect429(await token(a), 1);
  });

  it("counts each client on its own: a throttled client does not slow another", async () => {
    const a = await t.server.createClient();
    const b = await t.server.createClient();
    for (let i = 0; i < 3; i++) await token(a);
    expect429(await token(a), 1);
    for (let i = 0; i < 3; i++) expect((await token(b)).status).toBe(200);
  });

  it("shares the bucket between the form endpoint and IssueToken (gRPC: RESOURCE_EXHAUSTED + retry-after)", async () => {
    const a = await t.server.createClient();
    for (let i = 0; i < 3; i++) expect((await token(a)).status).toBe(200);
    expectExhausted(await grpcCall(t.tokens, "IssueToken", creds(a)), 1);
    t.now += 1500;
    for (let i = 0; i < 3; i++) expect((await grpcCall(t.tokens, "IssueToken", creds(a))).ok).toBe(true);
    expectExhausted(await grpcCall(t.tokens, "IssueToken", creds(a)), 1);
    expect429(await token(a), 1);
  });

  it("applies to Basic and to the Connect protocol as well (HTTP 429, code resource_exhausted)", async () => {
    const a = await t.server.createClient();
    for (let i = 0; i < 3; i++) {
      expect(
        (await formPost(t.url, { grant_type: "client_credentials" }, { authorization: basic(a.clientId, a.clientSecret) })).status,
      ).toBe(200);
    }
    expect429(await formPost(t.url, { grant_type: "client_credentials" }, { authorization: basic(a.clientId, a.clientSecret) }), 1);
    const res = await fetch(`${t.server.url}/tessera.v1.TokenService/IssueToken`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ clientId: a.clientId, clientSecret: a.clientSecret }),
    });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("1");
    const body = (await res.json()) as { code: string; message: string };
    expect(body).toMatchObject({ code: "resource_exhausted", message: "Too many requests; retry in 1s" });
  });

  it("limits only authenticated clients: wrong secrets are answered invalid_client, not 429, and spend nothing", async () => {
    const a = await t.server.createClient();
    for (let i = 0; i < 5; i++) {
      const bad = await formPost(t.url, { grant_type: "client_credentials", client_id: a.clientId, client_secret: "wrong" });
      expect(bad.status).toBe(401);
      expect(bad.json).toMatchObject({ error: "invalid_client" });
    }
    for (let i = 0; i < 3; i++) expect((await token(a)).status).toBe(200);
  });
});

describe("per source address (TESSERA_IP_RPS=1, TESSERA_IP_BURST=2)", () => {
  const t = useClockedServer({ TESSERA_IP_RPS: "1", TESSERA_IP_BURST: "2", TESSERA_AUTH_FAILURE_LIMIT: "0" }, 60_000);

  it("counts every token request from the address, whichever client, and refuses the third with 429", async () => {
    const a = await t.server.createClient();
    const b = await t.server.createClient();
    expect((await formPost(t.url, { grant_type: "client_credentials", ...creds(a) })).status).toBe(200);
    expect((await formPost(t.url, { grant_type: "client_credentials", ...creds(b) })).status).toBe(200);
    expect429(await formPost(t.url, { grant_type: "client_credentials", ...creds(a) }), 1);
    // Before authentication: a wrong or unknown client is refused the same way, not told 401.
    expect429(await formPost(t.url, { grant_type: "client_credentials", client_id: "tcl_nobody", client_secret: "x" }), 1);
    t.now += 1000;
    expect((await formPost(t.url, { grant_type: "client_credentials", ...creds(b) })).status).toBe(200);
  });

  it("cannot be dodged with X-Forwarded-For when no proxy is trusted", async () => {
    const a = await t.server.createClient();
    for (let i = 0; i < 2; i++) {
      expect((await formPost(t.url, { grant_type: "client_credentials", ...creds(a) }, { "x-forwarded-for": `10.9.0.${i}` })).status).toBe(
        200,
      );
    }
    expect429(await formPost(t.url, { grant_type: "client_credentials", ...creds(a) }, { "x-forwarded-for": "10.9.0.99" }), 1);
  });

  it("shares the address bucket with IssueToken, /oauth/introspect and /oauth/revoke", async () => {
    const a = await t.server.createClient();
    expect((await grpcCall(t.tokens, "IssueToken", creds(a))).ok).toBe(true);
    expect((await grpcCall(t.tokens, "IssueToken", creds(a))).ok).toBe(true);
    expectExhausted(await grpcCall(t.tokens, "IssueToken", creds(a)), 1);
    expect429(await formPost(`${t.server.url}/oauth/introspect`, { token: "x", ...creds(a) }), 1);
    expect429(await formPost(`${t.server.url}/oauth/revoke`, { token: "x", ...creds(a) }), 1);
  });
});

describe("per source address behind a trusted proxy (TESSERA_TRUST_PROXY=127.0.0.1)", () => {
  const now = Date.parse("2026-11-26T12:00:00Z");
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({
      clock: () => now,
      env: { TESSERA_IP_RPS: "1", TESSERA_IP_BURST: "1", TESSERA_TRUST_PROXY: "127.0.0.1" },
    });
  });
  afterAll(async () => server?.stop());

  it("keys on the forwarded address: one caller is throttled, another behind the same proxy is not", async () => {
    const a = await server.createClient();
    const url = `${server.url}/oauth/token`;
    const from = (ip: string) => formPost(url, { grant_type: "client_credentials", ...creds(a) }, { "x-forwarded-for": ip });
    expect((await from("203.0.113.1")).status).toBe(200);
    expect429(await from("203.0.113.1"), 1);
    expect((await from("203.0.113.2")).status).toBe(200);
    // Only the rightmost untrusted hop counts: a client cannot prepend a fresh address.
    expect429(await from("198.51.100.7, 203.0.113.2"), 1);
  });
});
