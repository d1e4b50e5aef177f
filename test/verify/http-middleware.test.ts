import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenClient } from "../../src/client/token-client.js";
import { type ProtectOptions, protect, requireAccessToken } from "../../src/verify/http-middleware.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const AUD = "https://api.example.com";
const OTHER = "https://other.example.com";
let tessera: TestServer;
let tokens: TokenClient;
const servers: http.Server[] = [];
const errors: unknown[] = [];

/** Starts a node:http server with `handler` on a free port; returns its base URL. */
async function serve(handler: http.RequestListener): Promise<string> {
  const s = http.createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

/** A protected API: GET /api/resource needs scope read. */
function resourceApi(overrides: Partial<ProtectOptions> = {}): Promise<string> {
  return serve(
    protect(
      {
        issuer: tessera.issuer,
        audience: AUD,
        jwksUri: `${tessera.url}/.well-known/jwks.json`,
        scopes: ["read"],
        onError: (e) => errors.push(e),
        ...overrides,
      },
      (req, res) => {
        if (req.url === "/boom") throw new Error("handler bug");
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ client: req.auth.clientId, scopes: req.auth.scopes }));
      },
    ),
  );
}

async function call(url: string, authorization?: string) {
  const res = await fetch(url, { headers: authorization ? { authorization } : {} });
  return { status: res.status, challenge: res.headers.get("www-authenticate"), body: (await res.json()) as Record<string, unknown> };
}

let api: string;
let creds: { clientId: string; clientSecret: string };
beforeAll(async () => {
  tessera = await startTestServer();
  creds = await tessera.createClient({ scopes: ["read", "write"], audiences: [AUD, OTHER] });
  tokens = new TokenClient({ server: tessera.url, ...creds, audience: AUD });
  api = await resourceApi();
});
afterAll(async () => {
  await tokens?.close();
  for (const s of servers) s.close();
  await tessera?.stop();
});

const invalidToken = (description: string) => `Bearer realm="${AUD}", error="invalid_token", error_description="${description}"`;

describe("protect(): RFC 6750 answers from a protected route", () => {
  for (const transport of ["http", "grpc"] as const) {
    it(`lets through a token Tessera issued over ${transport}, with its claims on req.auth`, async () => {
      const client = new TokenClient({ server: tessera.url, transport, ...creds, audience: AUD, scope: "read" });
      const res = await client.fetch(`${api}/api/resource`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ client: creds.clientId, scopes: ["read"] });
      await client.close();
    });
  }

  it("answers 401 with a bare challenge (no error attribute) when no token was sent", async () => {
    expect(await call(`${api}/api/resource`)).toMatchObject({ status: 401, challenge: `Bearer realm="${AUD}"` });
    expect(await call(`${api}/api/resource`, "Basic dTpw")).toMatchObject({ status: 401, challenge: `Bearer realm="${AUD}"` });
  });

  it("refuses ?access_token= with 400 invalid_request", async () => {
    const token = await tokens.getToken();
    const r = await call(`${api}/api/resource?access_token=${token}`);
    expect(r.status).toBe(400);
    expect(r.challenge).toMatch(/^Bearer realm="https:\/\/api\.example\.com", error="invalid_request"/);
  });

  it("refuses an expired token", async () => {
    const later = await resourceApi({ clock: () => Date.now() + 2 * 3_600_000 });
    const r = await call(`${later}/api/resource`, `Bearer ${await tokens.getToken()}`);
    expect(r).toMatchObject({ status: 401, challenge: invalidToken("The access token expired"), body: { error: "invalid_token" } });
  });

  it("refuses a token for another audience", async () => {
    const r = await call(`${api}/api/resource`, `Bearer ${await tokens.getToken({ audience: OTHER })}`);
    expect(r).toMatchObject({ status: 401, challenge: invalidToken("The access token is not meant for this resource server (aud)") });
  });

  it("refuses a token from another issuer", async () => {
    const strict = await resourceApi({ issuer: "http://not-tessera.test" });
    const r = await call(`${strict}/api/resource`, `Bearer ${await tokens.getToken()}`);
    expect(r).toMatchObject({
      status: 401,
      challenge: `Bearer realm="${AUD}", error="invalid_token", error_description="The access token is from another issuer"`,
    });
  });

  it("answers 403 insufficient_scope with the scope needed", async () => {
    const writer = await resourceApi({ scopes: ["read", "write"] });
    const r = await call(`${writer}/api/resource`, `Bearer ${await tokens.getToken({ scope: "read" })}`);
    expect(r.status).toBe(403);
    expect(r.challenge).toBe(
      `Bearer realm="${AUD}", error="insufficient_scope", error_description="The access token lacks the scope write", scope="read write"`,
    );
  });

  it("refuses a tampered token", async () => {
    const [h, p, s] = (await tokens.getToken()).split(".");
    const claims = JSON.parse(Buffer.from(p!, "base64url").toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, scope: "read write admin" })).toString("base64url");
    const r = await call(`${api}/api/resource`, `Bearer ${h}.${forged}.${s}`);
    expect(r).toMatchObject({ status: 401, challenge: invalidToken("The access token's signature is invalid") });
  });

  it("refuses an alg none token carrying a real token's claims", async () => {
    const [, p] = (await tokens.getToken()).split(".");
    const none = Buffer.from(JSON.stringify({ alg: "none", typ: "at+jwt" })).toString("base64url");
    const r = await call(`${api}/api/resource`, `Bearer ${none}.${p}.`);
    expect(r).toMatchObject({ status: 401, challenge: invalidToken("The access token's algorithm none is not accepted") });
  });

  it("discovers the JWKS through the issuer's metadata", async () => {
    // The issuer URL is not reachable in tests; route it to the real server, as DNS would.
    const viaIssuer = ((input: string | URL | Request, init?: RequestInit) =>
      fetch(String(input instanceof Request ? input.url : input).replace(tessera.issuer, tessera.url), init)) as typeof fetch;
    const discovered = await resourceApi({ jwksUri: undefined, fetch: viaIssuer });
    expect((await call(`${discovered}/api/resource`, `Bearer ${await tokens.getToken()}`)).status).toBe(200);
  });

  it("answers 503, not invalid_token, when the issuer's keys cannot be fetched, and reports it", async () => {
    errors.length = 0;
    const blind = await resourceApi({ jwksUri: "http://127.0.0.1:9/jwks.json" });
    const r = await call(`${blind}/api/resource`, `Bearer ${await tokens.getToken()}`);
    expect(r).toMatchObject({ status: 503, challenge: null, body: { error: "temporarily_unavailable" } });
    expect(errors).toHaveLength(1);
  });

  it("turns a handler bug into a 500 and reports it", async () => {
    errors.length = 0;
    const r = await call(`${api}/boom`, `Bearer ${await tokens.getToken()}`);
    expect(r).toMatchObject({ status: 500, body: { error: "server_error" } });
    expect((errors[0] as Error).message).toBe("handler bug");
  });
});

describe("requireAccessToken(): Express-style middleware", () => {
  it("sets req.auth and calls next() only for a valid token", async () => {
    const guard = requireAccessToken({
      issuer: tessera.issuer,
      audience: AUD,
      jwksUri: `${tessera.url}/.well-known/jwks.json`,
      scopes: ["read"],
    });
    let reached = 0;
    const url = await serve((req, res) =>
      guard(req, res, () => {
        reached++;
        res.end(JSON.stringify((req as unknown as { auth: { sub: string } }).auth.sub));
      }),
    );
    expect((await call(url)).status).toBe(401);
    expect(reached).toBe(0);
    const ok = await fetch(url, { headers: { authorization: `Bearer ${await tokens.getToken()}` } });
    expect(await ok.json()).toBe(creds.clientId);
    expect(reached).toBe(1);
  });
});
