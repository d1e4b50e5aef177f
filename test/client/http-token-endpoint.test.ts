import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { ClientCredentials } from "../../src/client/credentials.js";
import { TokenError } from "../../src/client/errors.js";
import { httpTokenEndpoint, parseRetryAfter } from "../../src/client/http-token-endpoint.js";

const URL_ = "http://tessera.test/oauth/token";
const creds = new ClientCredentials("tcl_a b", "tsec_x:y+z");

/** A fetch that records the request and answers with `status` and `body`. */
function fakeFetch(status: number, body: unknown, headers: Record<string, string> = {}) {
  const seen: Request[] = [];
  const f = (async (input: string | URL | Request, init?: RequestInit) => {
    seen.push(new Request(input, init));
    const text = typeof body === "string" ? body : JSON.stringify(body);
    return new Response(text, { status, headers: { "content-type": "application/json", ...headers } });
  }) as typeof fetch;
  return { f, seen };
}

async function failure(p: Promise<unknown>): Promise<TokenError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(TokenError);
  return e as TokenError;
}

const never = new AbortController().signal;

/** A loopback port nothing listens on (was free a moment ago). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

describe("httpTokenEndpoint", () => {
  it("posts the client credentials grant with client_secret_basic (RFC 6749 Appendix B encoding)", async () => {
    const { f, seen } = fakeFetch(200, { access_token: "at", token_type: "Bearer", expires_in: 60, scope: "read" });
    const res = await httpTokenEndpoint({ tokenUrl: URL_, fetch: f }).issue(
      creds,
      { scope: "read", audiences: ["https://a", "https://b"] },
      never,
    );
    expect(res).toEqual({ accessToken: "at", expiresIn: 60, scope: "read" });
    const req = seen[0]!;
    expect(req.method).toBe("POST");
    expect(req.headers.get("content-type")).toBe("application/x-www-form-urlencoded");
    const decoded = Buffer.from(req.headers.get("authorization")!.slice(6), "base64").toString();
    expect(decoded).toBe("tcl_a+b:tsec_x%3Ay%2Bz");
    const form = new URLSearchParams(await req.text());
    expect(form.get("grant_type")).toBe("client_credentials");
    expect(form.get("scope")).toBe("read");
    expect(form.getAll("audience")).toEqual(["https://a", "https://b"]);
    expect(form.has("client_secret")).toBe(false);
  });

  it("keeps the OAuth code of an error answer and says what to do", async () => {
    const { f } = fakeFetch(401, { error: "invalid_client", error_description: "Client authentication failed" });
    const err = await failure(httpTokenEndpoint({ tokenUrl: URL_, fetch: f }).issue(creds, { scope: undefined, audiences: [] }, never));
    expect(err).toMatchObject({ code: "invalid_client", retryable: false });
    expect(err.context.status).toBe(401);
    expect(err.message).toBe("Invalid client credentials. Check CLIENT_ID and CLIENT_SECRET.");
  });

  it("turns a bare 429 into a retryable error with the Retry-After", async () => {
    const { f } = fakeFetch(429, "slow down", { "retry-after": "7" });
    const err = await failure(httpTokenEndpoint({ tokenUrl: URL_, fetch: f }).issue(creds, { scope: undefined, audiences: [] }, never));
    expect(err).toMatchObject({ code: "temporarily_unavailable", retryable: true });
    expect(err.context.retryAfterMs).toBe(7_000);
  });

  it("turns a proxy's 502 page into a retryable server_error", async () => {
    const { f } = fakeFetch(502, "<html>bad gateway</html>");
    const err = await failure(httpTokenEndpoint({ tokenUrl: URL_, fetch: f }).issue(creds, { scope: undefined, audiences: [] }, never));
    expect(err).toMatchObject({ code: "server_error", retryable: true, description: "HTTP 502" });
  });

  it("refuses a 200 that is not a Bearer token with a lifetime", async () => {
    for (const body of [{}, { access_token: "x", token_type: "mac", expires_in: 5 }, { access_token: "x", token_type: "Bearer" }]) {
      const { f } = fakeFetch(200, body);
      const err = await failure(httpTokenEndpoint({ tokenUrl: URL_, fetch: f }).issue(creds, { scope: undefined, audiences: [] }, never));
      expect(err.code).toBe("invalid_response");
    }
  });

  it("reports a refused connection as a retryable network_error naming the server", async () => {
    const port = await closedPort();
    const tokenUrl = `http://127.0.0.1:${port}/oauth/token`;
    const err = await failure(httpTokenEndpoint({ tokenUrl }).issue(creds, { scope: undefined, audiences: [] }, never));
    expect(err).toMatchObject({ code: "network_error", retryable: true });
    expect(err.message).toBe(
      `Could not reach the token service at ${tokenUrl}: connect ECONNREFUSED 127.0.0.1:${port}. Check the server URL and the network.`,
    );
  });
});

describe("parseRetryAfter (RFC 9110 §10.2.3)", () => {
  it("reads delay-seconds and HTTP-dates, ignores junk", () => {
    const now = Date.UTC(2030, 0, 1, 0, 0, 0);
    expect(parseRetryAfter("120", now)).toBe(120_000);
    expect(parseRetryAfter("Tue, 01 Jan 2030 00:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Mon, 31 Dec 2029 00:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});
