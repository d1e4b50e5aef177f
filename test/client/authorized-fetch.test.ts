import { describe, expect, it } from "vitest";
import { TokenClient } from "../../src/client/token-client.js";
import { FakeEndpoint } from "./fake-endpoint.js";
import { FakeScheduler } from "./fake-scheduler.js";

/** A resource server stand-in: answers each request with the next status, recording the tokens it saw. */
function api(statuses: number[]) {
  const seen: Array<{ url: string; auth: string | null; body: string; custom: string | null }> = [];
  const f = (async (input: string | URL | Request, init?: RequestInit) => {
    const req = new Request(input, init);
    seen.push({ url: req.url, auth: req.headers.get("authorization"), body: await req.text(), custom: req.headers.get("x-custom") });
    const status = statuses.shift() ?? 200;
    const headers = status === 401 ? { "www-authenticate": 'Bearer realm="api", error="invalid_token"' } : undefined;
    return new Response(JSON.stringify({ status }), { status, headers: headers ?? {} });
  }) as typeof fetch;
  return { f, seen };
}

function client(fetchImpl: typeof fetch) {
  const endpoint = new FakeEndpoint();
  const c = new TokenClient({ clientId: "c", clientSecret: "s", endpoint, scheduler: new FakeScheduler(), fetch: fetchImpl });
  return { endpoint, c };
}

describe("TokenClient.fetch", () => {
  it("sends the token as Authorization: Bearer, keeping the caller's headers and body", async () => {
    const { f, seen } = api([200]);
    const { c } = client(f);
    const res = await c.fetch("http://api.test/api/resource", { method: "POST", body: "hello", headers: { "x-custom": "1" } });
    expect(res.status).toBe(200);
    expect(seen).toEqual([{ url: "http://api.test/api/resource", auth: "Bearer tok-1", body: "hello", custom: "1" }]);
  });

  it("on a 401 invalidates the token and retries exactly once with a new one", async () => {
    const { f, seen } = api([401, 200]);
    const { c, endpoint } = client(f);
    const res = await c.fetch(new Request("http://api.test/x", { method: "PUT", body: "payload" }));
    expect(res.status).toBe(200);
    expect(seen.map((s) => [s.auth, s.body])).toEqual([
      ["Bearer tok-1", "payload"],
      ["Bearer tok-2", "payload"],
    ]);
    expect(endpoint.count).toBe(2);
  });

  it("returns the second 401 instead of looping", async () => {
    const { f, seen } = api([401, 401, 200]);
    const { c, endpoint } = client(f);
    expect((await c.fetch("http://api.test/x")).status).toBe(401);
    expect(seen).toHaveLength(2);
    expect(endpoint.count).toBe(2);
  });

  for (const status of [403, 404, 500, 503]) {
    it(`does not retry a ${status}: a new token cannot fix it`, async () => {
      const { f, seen } = api([status, 200]);
      const { c, endpoint } = client(f);
      expect((await c.fetch("http://api.test/x")).status).toBe(status);
      expect(seen).toHaveLength(1);
      expect(endpoint.count).toBe(1);
    });
  }

  it("does not retry a request whose body was a one-shot stream", async () => {
    const { f, seen } = api([401, 200]);
    const { c } = client(f);
    const body = new ReadableStream({ start: (ctl) => (ctl.enqueue(new TextEncoder().encode("once")), ctl.close()) });
    const res = await c.fetch("http://api.test/x", { method: "POST", body, duplex: "half" } as RequestInit);
    expect(res.status).toBe(401);
    expect(seen).toHaveLength(1);
  });

  it("when 20 parallel requests all get 401, fetches one new token, not 20", async () => {
    const { f } = api([...Array<number>(20).fill(401)]);
    const { c, endpoint } = client(f);
    await c.getToken();
    const results = await Promise.all(Array.from({ length: 20 }, () => c.fetch("http://api.test/x")));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(endpoint.count).toBe(2);
  });
});
