import http2 from "node:http2";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grpcClient } from "../../helpers/grpc-js.js";
import { rawH2Connection } from "../../helpers/raw-h2.js";
import { bootstrap, type Credentials, startTessera, type TesseraProcess, tempDir } from "../../helpers/tessera-process.js";
import { startTestServer, type TestServer } from "../../helpers/test-server.js";
import { grpcCall, grpcFrame } from "./wire.js";

// HTTP/2 streams against the real server process started with --request-timeout 1s and
// --max-concurrent-streams 10: a stream whose request trickles in
// is answered and closed once the request timeout passes, as HTTP/1.1 answers 408; a stream
// whose request is complete is never cut however long its answer lasts; the server's SETTINGS
// cap concurrent streams; health Watch streams are capped per connection (8) and in total
// (--max-health-watches, 10 on a server of their own).

const ISSUE = "/tessera.v1.TokenService/IssueToken";
const WATCH = "/grpc.health.v1.Health/Watch";
const GRPC = { "content-type": "application/grpc", te: "trailers" };
const FORM = { "content-type": "application/x-www-form-urlencoded" };

let server: TesseraProcess;
let admin: Credentials;
const sessions: http2.ClientHttp2Session[] = [];

beforeAll(async () => {
  const db = join(tempDir("h2-streams"), "tessera.db");
  admin = await bootstrap(db);
  server = await startTessera({ db, args: ["--request-timeout", "1s", "--max-concurrent-streams", "10"] });
});
afterAll(async () => {
  for (const s of sessions) s.destroy();
  await server?.stop();
});

function session(): http2.ClientHttp2Session {
  const s = http2.connect(server.url);
  s.on("error", () => {});
  sessions.push(s);
  return s;
}

/** What came back on a stream: response headers merged with trailers, and the body. */
interface Answer {
  headers: http2.IncomingHttpHeaders;
  body: string;
  rstCode: number | undefined;
  /** Bytes the client had sent when the stream closed. */
  sent: number;
}

/**
 * Sends `body` on a new stream one byte every `everyMs` (then ends it), and resolves when the
 * stream closes, or rejects after `maxMs`.
 */
function trickle(
  s: http2.ClientHttp2Session,
  path: string,
  headers: http2.OutgoingHttpHeaders,
  body: Buffer,
  everyMs: number,
  maxMs = 15_000,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = s.request({ ":method": "POST", ":path": path, ...headers }, { endStream: false });
    const out: Answer = { headers: {}, body: "", rstCode: undefined, sent: 0 };
    stream.on("response", (h) => Object.assign(out.headers, h));
    stream.on("trailers", (h) => Object.assign(out.headers, h));
    stream.setEncoding("latin1");
    stream.on("data", (d: string) => (out.body += d));
    stream.on("error", () => {});
    const giveUp = setTimeout(() => reject(new Error(`stream to ${path} still open after ${maxMs} ms`)), maxMs);
    const tick = setInterval(() => {
      if (stream.closed || stream.destroyed) return;
      if (out.sent === body.length) stream.end();
      else stream.write(body.subarray(out.sent, ++out.sent));
    }, everyMs);
    stream.on("close", () => {
      clearInterval(tick);
      clearTimeout(giveUp);
      out.rstCode = stream.rstCode;
      resolve(out);
    });
  });
}

const form = (c: Credentials) =>
  Buffer.from(new URLSearchParams({ grant_type: "client_credentials", client_id: c.clientId, client_secret: c.clientSecret }).toString());
const issueTokenMessage = (c: Credentials) => {
  const id = Buffer.from(c.clientId);
  const secret = Buffer.from(c.clientSecret);
  return Buffer.concat([Buffer.from([0x0a, id.length]), id, Buffer.from([0x12, secret.length]), secret]);
};

describe("the request timeout applies to each HTTP/2 stream", () => {
  it("a form request trickling in for ever is answered 408 and its stream closed; the session's other streams go on", async () => {
    const s = session();
    const slow = trickle(s, "/oauth/token", FORM, Buffer.alloc(10_000, "a"), 200);
    // Meanwhile a normal request on the same connection gets its token.
    const quick = await trickle(s, "/oauth/token", FORM, form(admin), 0);
    expect(quick.headers[":status"]).toBe(200);
    const a = await slow;
    expect(a.headers[":status"]).toBe(408);
    expect(a.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
    expect(a.sent).toBeLessThan(10_000);
    const line = await server.waitForLog((l) => l.msg === "token request" && l.transport === "http" && l.outcome === "aborted");
    expect(line.level).toBe(30);
  });

  it("gRPC IssueToken (fast path), gRPC-Web and ClientAdmin get DEADLINE_EXCEEDED; Connect gets 408", async () => {
    const s = session();
    const envelope = grpcFrame(Buffer.alloc(5_000, 0x0a));
    const [fast, web, adminCall, connect] = await Promise.all([
      trickle(s, ISSUE, GRPC, envelope, 200),
      trickle(s, ISSUE, { "content-type": "application/grpc-web+proto" }, envelope, 200),
      trickle(s, "/tessera.v1.ClientAdmin/ListClients", GRPC, envelope, 200),
      trickle(s, ISSUE, { "content-type": "application/proto", "connect-protocol-version": "1" }, Buffer.alloc(5_000, 0x0a), 200),
    ]);
    for (const a of [fast, web, adminCall]) {
      expect(a.headers).toMatchObject({ ":status": 200, "grpc-status": "4", "grpc-message": "the request did not arrive within 1s" });
    }
    expect(connect.headers[":status"]).toBe(408);
    await server.waitForLog((l) => l.msg === "token request" && l.transport === "grpc" && l.outcome === "aborted");
  });

  it("a request that arrives slowly but within the timeout is served as usual", async () => {
    // A server of its own with a 10 s request timeout: the half-second trickles below stay far
    // inside it even when a loaded machine delays every tick.
    const patient = await startTestServer({ env: { TESSERA_REQUEST_TIMEOUT: "10s" } });
    const s = http2.connect(patient.url);
    s.on("error", () => {});
    try {
      const body = issueTokenMessage(admin);
      const a = await trickle(s, ISSUE, GRPC, Buffer.concat([grpcFrame(body).subarray(0, 5), body.subarray(0, 10)]), 30);
      // 15 bytes over about half a second, then the end of the stream: the request is complete in time.
      expect(a.headers["grpc-status"]).toBe("3"); // an incomplete envelope, answered, not timed out
      const whole = await trickle(s, "/oauth/token", FORM, form(admin).subarray(0, 20), 25);
      expect(whole.headers[":status"]).toBe(400);
    } finally {
      s.destroy();
      await patient.stop();
    }
  });

  it("a complete request whose answer lasts longer (a health Watch) is never cut", async () => {
    const s = session();
    const stream = s.request({ ":method": "POST", ":path": WATCH, ...GRPC });
    stream.on("error", () => {});
    const messages: Buffer[] = [];
    stream.on("data", (d: Buffer) => messages.push(d));
    stream.end(grpcFrame(Buffer.alloc(0)));
    await new Promise<void>((resolve) => stream.once("data", () => resolve()));
    // A request opened after it, that never completes, is cut by the request timeout; by then
    // the Watch has been open longer than that timeout, and it is still open, untouched.
    const later = await trickle(s, "/oauth/token", FORM, Buffer.alloc(10_000, "a"), 200);
    expect(later.headers[":status"]).toBe(408);
    expect(stream.closed).toBe(false);
    expect(messages).toHaveLength(1);
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await new Promise((r) => stream.once("close", r));
  });
});

describe("concurrent streams per connection", () => {
  it("the server announces SETTINGS_MAX_CONCURRENT_STREAMS, and a client that opens more loses the connection", async () => {
    const c = await rawH2Connection(server.port);
    try {
      await c.until("the server's SETTINGS", () => c.settings.size > 0);
      expect(c.settings.get(0x3)).toBe(10); // SETTINGS_MAX_CONCURRENT_STREAMS
      // Settings acknowledged, the 11th stream breaks the protocol (RFC 9113 §5.1.2): the server
      // ends the connection with GOAWAY naming stream 19, the 10th, as the last one it took.
      for (let i = 0; i < 11; i++) c.open(1 + 2 * i, "/oauth/token", FORM);
      await c.until("a GOAWAY", () => c.goaway !== undefined);
      expect(c.goaway!.lastStreamId).toBe(19);
      expect(c.goaway!.code).not.toBe(http2.constants.NGHTTP2_NO_ERROR);
    } finally {
      c.close();
    }
  });

  it("a gRPC client that respects it (grpc-js) gets 30 concurrent calls on one channel answered", async () => {
    const tokens = grpcClient("TokenService", server.port);
    try {
      const answers = await Promise.all(
        Array.from({ length: 30 }, () => grpcCall(tokens, "IssueToken", { client_id: admin.clientId, client_secret: admin.clientSecret })),
      );
      expect(answers.map((a) => a.ok)).toStrictEqual(Array(30).fill(true));
    } finally {
      tokens.close();
    }
  });

  it("the default is 100", async () => {
    const s = await startTestServer();
    const client = http2.connect(s.url);
    try {
      await new Promise((resolve) => client.once("remoteSettings", resolve));
      expect(client.remoteSettings.maxConcurrentStreams).toBe(100);
    } finally {
      client.destroy();
      await s.stop();
    }
  });
});

describe("health Watch streams are capped", () => {
  // A server of its own, so that no watch left by another test counts.
  let watched: TestServer;
  beforeAll(async () => {
    watched = await startTestServer({ env: { TESSERA_MAX_HEALTH_WATCHES: "10" } });
  });
  afterAll(async () => watched?.stop());
  const connection = () => {
    const s = http2.connect(watched.url);
    s.on("error", () => {});
    sessions.push(s);
    return s;
  };

  /** Opens a Watch on `s`; resolves "open" once its first status arrives, or the grpc-message it was refused with. */
  function watch(s: http2.ClientHttp2Session): Promise<{ result: string; stream: http2.ClientHttp2Stream }> {
    return new Promise((resolve) => {
      const stream = s.request({ ":method": "POST", ":path": WATCH, ...GRPC });
      stream.on("error", () => {});
      stream.once("data", () => resolve({ result: "open", stream }));
      const refused = (h: http2.IncomingHttpHeaders) => {
        if (h["grpc-status"] !== undefined)
          resolve({ result: `${h["grpc-status"]} ${decodeURIComponent(String(h["grpc-message"]))}`, stream });
      };
      stream.on("response", refused);
      stream.on("trailers", refused);
      stream.end(grpcFrame(Buffer.alloc(0)));
    });
  }

  it("at most 8 on one connection and 10 in the process; a closed one makes room", async () => {
    const one = connection();
    const first: http2.ClientHttp2Stream[] = [];
    for (let i = 0; i < 8; i++) {
      const w = await watch(one);
      expect(w.result).toBe("open");
      first.push(w.stream);
    }
    expect((await watch(one)).result).toBe("8 this connection has 8 health watches open, the limit per connection");
    const two = connection();
    for (let i = 0; i < 2; i++) expect((await watch(two)).result).toBe("open");
    const three = connection();
    expect((await watch(three)).result).toBe("8 this server has 10 health watches open, its limit; use Check, or Watch again later");
    first[0]!.close(http2.constants.NGHTTP2_CANCEL);
    await new Promise((r) => first[0]!.once("close", r));
    const again = await watch(three);
    expect(again.result).toBe("open");
    for (const s of [...first, again.stream]) s.close(http2.constants.NGHTTP2_CANCEL);
  });
});
