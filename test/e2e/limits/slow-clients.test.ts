import http2 from "node:http2";
import { afterAll, beforeAll, describe, it } from "vitest";
import { startTestServer, type TestServer } from "../../helpers/test-server.js";
import { closedWithin, connect, formPost, h2Exchange, parseResponse } from "./wire.js";

// Slow and silent clients (slowloris) against the real server with
// TESSERA_REQUEST_TIMEOUT=1s and TESSERA_IDLE_TIMEOUT=1s: every such connection must be
// closed by the server, which it does a second or two after the client falls silent. Each test
// waits for the close; WAIT_MS only bounds a server that never closes (without the timeouts
// these connections stay open for ever), with room for a loaded machine.

const WAIT_MS = 15_000;
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ env: { TESSERA_REQUEST_TIMEOUT: "1s", TESSERA_IDLE_TIMEOUT: "1s" } });
});
afterAll(async () => server?.stop());

/** Opens a connection, sends `bytes` (maybe nothing), and reports whether the server closed it in time. */
async function closedAfterSending(bytes: string): Promise<{ closed: boolean; answer: Buffer }> {
  const socket = await connect(server.port);
  const chunks: Buffer[] = [];
  socket.on("data", (d: Buffer) => chunks.push(d));
  if (bytes !== "") socket.write(bytes);
  const closed = await closedWithin(socket, WAIT_MS);
  socket.destroy();
  return { closed, answer: Buffer.concat(chunks) };
}

describe.concurrent("slow clients over raw TCP and HTTP/1.1", () => {
  it("closes a connection that sends nothing", async ({ expect }) => {
    const r = await closedAfterSending("");
    expect(r.closed).toBe(true);
    expect(r.answer.length).toBe(0);
  });

  it("closes a connection that sends one byte that could begin the h2 preface", async ({ expect }) => {
    expect((await closedAfterSending("P")).closed).toBe(true);
  });

  it("closes a connection that sends the h2 preface and then nothing", async ({ expect }) => {
    expect((await closedAfterSending("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")).closed).toBe(true);
  });

  it("closes an idle keep-alive connection after its response", async ({ expect }) => {
    const r = await closedAfterSending("GET /.well-known/jwks.json HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(parseResponse(r.answer).status).toBe(200);
    expect(r.closed).toBe(true);
  });

  // These three hold only because src/server.ts lets Node track the HTTP/1.1 connections it
  // is handed (h1.emit("listening")) and checks them every second: without that, Node never
  // enforces requestTimeout/headersTimeout on sockets given to it by emit("connection"), and
  // half a request held its connection for ever.
  it("answers half a request line with 408 and closes", async ({ expect }) => {
    const r = await closedAfterSending("POST /oauth/tok");
    expect(r.closed).toBe(true);
    expect(parseResponse(r.answer).status).toBe(408);
  });

  it("answers headers that never end with 408 and closes", async ({ expect }) => {
    const r = await closedAfterSending("POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n");
    expect(r.closed).toBe(true);
    expect(parseResponse(r.answer).status).toBe(408);
  });

  it("answers a body that never completes with 408 and closes", async ({ expect }) => {
    const r = await closedAfterSending(
      "POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type=",
    );
    expect(r.closed).toBe(true);
    expect(parseResponse(r.answer).status).toBe(408);
  });
});

describe.concurrent("slow clients over h2c", () => {
  it("closes an idle h2 session after its request", async ({ expect }) => {
    const session = http2.connect(server.url);
    session.on("error", () => {});
    try {
      expect((await h2Exchange(session, { ":path": "/.well-known/jwks.json" })).status).toBe(200);
      const closed = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), WAIT_MS);
        session.once("close", () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      expect(closed).toBe(true);
    } finally {
      session.destroy();
    }
  });

  it("ends a stream whose request body never completes, without answering it", async ({ expect }) => {
    const session = http2.connect(server.url);
    session.on("error", () => {});
    try {
      const stream = session.request(
        { ":method": "POST", ":path": "/oauth/token", "content-type": "application/x-www-form-urlencoded" },
        { endStream: false },
      );
      stream.on("error", () => {});
      stream.write("grant_type=");
      let status: number | undefined;
      stream.on("response", (h) => (status = h[":status"]));
      stream.resume();
      const closed = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), WAIT_MS);
        stream.once("close", () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      expect(closed).toBe(true);
      expect(status).toBeUndefined();
    } finally {
      session.destroy();
    }
  });
});

describe("after the slow clients", () => {
  it("the server still issues tokens", async ({ expect }) => {
    const c = await server.createClient();
    const a = await formPost(`${server.url}/oauth/token`, {
      grant_type: "client_credentials",
      client_id: c.clientId,
      client_secret: c.clientSecret,
    });
    expect(a.status).toBe(200);
  });
});
