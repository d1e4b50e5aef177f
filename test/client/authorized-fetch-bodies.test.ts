import http from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenClient } from "../../src/client/token-client.js";
import { FakeEndpoint } from "./fake-endpoint.js";

// TokenClient.fetch against a real HTTP resource server that refuses the first token with 401:
// a body that can be sent twice is retried once with a fresh token; a one-shot body (a stream,
// a Node Readable, an async generator) is not replayed, and the caller gets the 401.

const received: Array<{ auth: string | undefined; body: string }> = [];
let url: string;
let server: http.Server;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ auth: req.headers.authorization, body: Buffer.concat(chunks).toString() });
      // The first token the client was given ("tok-1") is refused, as an expired token would be.
      const refused = req.headers.authorization === "Bearer tok-1";
      res
        .writeHead(refused ? 401 : 200, refused ? { "www-authenticate": 'Bearer error="invalid_token"' } : {})
        .end(refused ? "refused" : "ok");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/upload`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function client() {
  received.length = 0;
  return new TokenClient({ clientId: "c", clientSecret: "s", endpoint: new FakeEndpoint() });
}

const TEXT = "line one\nline two\n";
const replayable: Array<[string, () => RequestInit["body"], string]> = [
  ["a string", () => TEXT, TEXT],
  ["a Buffer", () => Buffer.from(TEXT), TEXT],
  ["a Uint8Array", () => new TextEncoder().encode(TEXT), TEXT],
  ["an ArrayBuffer", () => new TextEncoder().encode(TEXT).buffer as ArrayBuffer, TEXT],
  ["URLSearchParams", () => new URLSearchParams({ a: "1", b: "two" }), "a=1&b=two"],
  ["a Blob", () => new Blob([TEXT]), TEXT],
];

const oneShot: Array<[string, () => unknown]> = [
  ["a web ReadableStream", () => new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode(TEXT)), c.close()) })],
  ["a Node Readable", () => Readable.from([Buffer.from("line one\n"), Buffer.from("line two\n")])],
  [
    "an async generator",
    () =>
      (async function* () {
        yield new TextEncoder().encode("line one\n");
        yield new TextEncoder().encode("line two\n");
      })(),
  ],
];

describe("TokenClient.fetch and request bodies after a 401", () => {
  for (const [name, make, sent] of replayable) {
    it(`retries ${name} once with a fresh token, sending the same body again`, async () => {
      const c = client();
      const res = await c.fetch(url, { method: "POST", body: make() ?? null });
      expect([res.status, await res.text()]).toEqual([200, "ok"]);
      expect(received).toEqual([
        { auth: "Bearer tok-1", body: sent },
        { auth: "Bearer tok-2", body: sent },
      ]);
    });
  }

  it("retries FormData once, with the same fields", async () => {
    const c = client();
    const form = new FormData();
    form.set("name", "report.csv");
    const res = await c.fetch(url, { method: "POST", body: form });
    expect(res.status).toBe(200);
    expect(received).toHaveLength(2);
    // Each send has its own multipart boundary (the first line); the parts are the same.
    const parts = (body: string) => body.split(body.slice(0, body.indexOf("\r\n")));
    expect(parts(received[1]!.body)).toEqual(parts(received[0]!.body));
    expect(received[1]!.body).toContain('name="name"\r\n\r\nreport.csv');
  });

  for (const [name, make] of oneShot) {
    it(`does not replay ${name}: the caller gets the 401, the server got the body once, and the next call has a fresh token`, async () => {
      const c = client();
      const res = await c.fetch(url, { method: "POST", body: make() as RequestInit["body"], duplex: "half" } as RequestInit);
      expect([res.status, await res.text()]).toEqual([401, "refused"]);
      expect(received).toEqual([{ auth: "Bearer tok-1", body: TEXT }]);
      const again = await c.fetch(url, { method: "POST", body: TEXT });
      expect(again.status).toBe(200);
      expect(received[1]).toEqual({ auth: "Bearer tok-2", body: TEXT });
    });
  }
});
