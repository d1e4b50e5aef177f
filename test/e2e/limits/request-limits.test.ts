import http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IssueTokenRequestSchema } from "../../../gen/tessera/v1/token_service_pb.js";
import { grpcClient } from "../../helpers/grpc-js.js";
import { startTestServer, type TestServer } from "../../helpers/test-server.js";
import {
  ANSWER_MS,
  closedWithin,
  connect,
  formPost,
  grpcCall,
  grpcFrame,
  h2Exchange,
  header,
  parseResponse,
  rawExchange,
  rawGrpc,
} from "./wire.js";

// Size and deadline limits against the real server: form body (TESSERA_MAX_BODY_BYTES), gRPC
// message (TESSERA_MAX_MESSAGE_BYTES), header block (TESSERA_MAX_HEADER_BYTES) and deadline
// cap (TESSERA_MAX_DEADLINE), over HTTP/1.1, h2c and gRPC.

const FORM = "application/x-www-form-urlencoded";
const ISSUE = "/tessera.v1.TokenService/IssueToken";

/** The server with default limits: 16 KB body, 16 KB headers, 64 KB messages, 5 min deadline. */
let defaults: TestServer;
/** The server with small limits: 1 KB body and messages, 4 KB headers, 5 s deadline. */
let small: TestServer;
/** Its calls ask for the longest deadline it accepts. */
const AT_SMALL_CAP = { deadlineMs: 5000 };
let ok: { clientId: string; clientSecret: string };
let okSmall: { clientId: string; clientSecret: string };

beforeAll(async () => {
  defaults = await startTestServer();
  small = await startTestServer({
    env: {
      TESSERA_MAX_BODY_BYTES: "1024",
      TESSERA_MAX_MESSAGE_BYTES: "1024",
      TESSERA_MAX_HEADER_BYTES: "4096",
      TESSERA_MAX_DEADLINE: "5s",
    },
  });
  ok = await defaults.createClient({ scopes: ["read"] });
  okSmall = await small.createClient({ scopes: ["read"] });
});
afterAll(async () => {
  await defaults?.stop();
  await small?.stop();
});

/** A normal token request still works on `server` (after whatever the test threw at it). */
async function stillServes(server: TestServer, c: { clientId: string; clientSecret: string }): Promise<void> {
  const a = await formPost(`${server.url}/oauth/token`, {
    grant_type: "client_credentials",
    client_id: c.clientId,
    client_secret: c.clientSecret,
  });
  expect(a.status).toBe(200);
}

const TOO_LARGE_16K = { error: "invalid_request", error_description: "The request body is larger than 16384 bytes" };

describe("form body size (default 16 KB)", () => {
  it("answers a declared 1 MB form with 413 at once, before the body arrives, and closes the connection", async () => {
    const socket = await connect(defaults.port);
    const chunks: Buffer[] = [];
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.write(`POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: ${FORM}\r\nContent-Length: 1048576\r\n\r\ngrant_type=`);
    // Only the headers and 11 bytes were sent: the answer cannot have waited for the megabyte.
    expect(await closedWithin(socket, ANSWER_MS)).toBe(true);
    const a = parseResponse(Buffer.concat(chunks));
    expect(a.status).toBe(413);
    expect(header({ ...a, closed: true }, "connection")).toBe("close");
    expect(JSON.parse(a.body.toString())).toStrictEqual(TOO_LARGE_16K);
    await stillServes(defaults, ok);
  });

  it("answers a chunked body (no Content-Length) with 413 once it passes the limit, without reading the rest", async () => {
    const socket = await connect(defaults.port);
    const chunks: Buffer[] = [];
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.write(`POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: ${FORM}\r\nTransfer-Encoding: chunked\r\n\r\n`);
    // 40 KB of a body that never ends (no final 0-chunk): the answer must still come.
    for (let i = 0; i < 5; i++) socket.write(`2000\r\n${"a".repeat(0x2000)}\r\n`);
    expect(await closedWithin(socket, ANSWER_MS)).toBe(true);
    const a = parseResponse(Buffer.concat(chunks));
    expect(a.status).toBe(413);
    expect(JSON.parse(a.body.toString())).toStrictEqual(TOO_LARGE_16K);
  });

  it("answers a 1 MB form over h2 with 413, ends that stream, and the session serves the next request", async () => {
    const session = http2.connect(defaults.url);
    try {
      const big = await h2Exchange(
        session,
        { ":method": "POST", ":path": "/oauth/token", "content-type": FORM },
        `a=${"b".repeat(1 << 20)}`,
      );
      expect(big.status).toBe(413);
      expect(JSON.parse(big.body)).toStrictEqual(TOO_LARGE_16K);
      // Declared up front: refused from the content-length header.
      const declared = await h2Exchange(
        session,
        { ":method": "POST", ":path": "/oauth/token", "content-type": FORM, "content-length": String(1 << 20) },
        Buffer.alloc(1 << 20, "a"),
      );
      expect(declared.status).toBe(413);
      const next = await h2Exchange(
        session,
        { ":method": "POST", ":path": "/oauth/token", "content-type": FORM },
        new URLSearchParams({ grant_type: "client_credentials", client_id: ok.clientId, client_secret: ok.clientSecret }).toString(),
      );
      expect(next.status).toBe(200);
    } finally {
      session.close();
    }
  });

  it("honours TESSERA_MAX_BODY_BYTES=1024 exactly: 1,024 bytes are read, 1,025 are refused", async () => {
    const pad = (n: number) => {
      const base = "grant_type=client_credentials&client_id=tcl_nobody&client_secret=x&pad=";
      return base + "p".repeat(n - base.length);
    };
    const at = await formPost(`${small.url}/oauth/token`, pad(1024));
    expect(at.status).toBe(401);
    expect(at.json).toMatchObject({ error: "invalid_client" });
    const over = await formPost(`${small.url}/oauth/token`, pad(1025));
    expect(over.status).toBe(413);
    expect(over.json).toStrictEqual({ error: "invalid_request", error_description: "The request body is larger than 1024 bytes" });
    await stillServes(small, okSmall);
  });
});

describe("gRPC message size", () => {
  it("refuses an IssueToken message over TESSERA_MAX_MESSAGE_BYTES=1024 with RESOURCE_EXHAUSTED, not INTERNAL", async () => {
    const tokens = grpcClient("TokenService", small.port);
    try {
      const a = await grpcCall(
        tokens,
        "IssueToken",
        { client_id: okSmall.clientId, client_secret: okSmall.clientSecret, scope: "a".repeat(2000) },
        AT_SMALL_CAP,
      );
      expect(a).toMatchObject({ ok: false, code: grpc.status.RESOURCE_EXHAUSTED });
      if (!a.ok) expect(a.details).toMatch(/^message size \d+ is larger than configured readMaxBytes 1024$/);
      const fine = await grpcCall(
        tokens,
        "IssueToken",
        { client_id: okSmall.clientId, client_secret: okSmall.clientSecret, scope: "read" },
        AT_SMALL_CAP,
      );
      expect(fine.ok).toBe(true);
    } finally {
      tokens.close();
    }
  });

  it("refuses an 80 KB message under the default 64 KB limit the same way", async () => {
    const tokens = grpcClient("TokenService", defaults.port);
    try {
      const a = await grpcCall(tokens, "IssueToken", {
        client_id: ok.clientId,
        client_secret: ok.clientSecret,
        scope: "a ".repeat(40_000),
      });
      expect(a).toMatchObject({ ok: false, code: grpc.status.RESOURCE_EXHAUSTED });
      if (!a.ok) expect(a.details).toMatch(/^message size \d+ is larger than configured readMaxBytes 65536$/);
    } finally {
      tokens.close();
    }
  });

  it("refuses a frame that declares 2 GB at once, from its length prefix", async () => {
    const a = await rawGrpc(small.url, ISSUE, Buffer.from([0, 0x7f, 0xff, 0xff, 0xff, 1]));
    expect(a).toMatchObject({ httpStatus: 200, grpcStatus: grpc.status.RESOURCE_EXHAUSTED, error: undefined });
    expect(a.grpcMessage).toBe("message size 2147483647 is larger than configured readMaxBytes 1024");
  });

  it("answers the Connect protocol (JSON over HTTP/1.1) with HTTP 429 resource_exhausted", async () => {
    const res = await fetch(`${small.url}${ISSUE}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ clientId: okSmall.clientId, clientSecret: okSmall.clientSecret, scope: "a".repeat(2000) }),
    });
    expect(res.status).toBe(429);
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe("resource_exhausted");
    expect(body.message).toMatch(/^message size \d+ is larger than configured readMaxBytes 1024$/);
  });
});

describe("header size", () => {
  it("answers a 64 KB header over HTTP/1.1 with 431 and closes; the server serves the next request", async () => {
    const a = await rawExchange(defaults.port, `GET /.well-known/jwks.json HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(65_536)}\r\n\r\n`);
    expect(a.status).toBe(431);
    expect(a.closed).toBe(true);
    await stillServes(defaults, ok);
  });

  it("answers a 64 KB request line (query string) over HTTP/1.1 with 431", async () => {
    const a = await rawExchange(defaults.port, `POST /oauth/token?${"a".repeat(65_536)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(a.status).toBe(431);
    expect(a.closed).toBe(true);
  });

  it("honours TESSERA_MAX_HEADER_BYTES=4096 over HTTP/1.1: an 8 KB header gets 431", async () => {
    const a = await rawExchange(
      small.port,
      `GET /.well-known/jwks.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: ${"a".repeat(8192)}\r\n\r\n`,
    );
    expect(a.status).toBe(431);
  });

  it("refuses a 64 KB header block over h2 with RST_STREAM (ENHANCE_YOUR_CALM); the session lives on", async () => {
    const session = http2.connect(defaults.url, { maxSendHeaderBlockLength: 1 << 20 });
    try {
      // A first request, so the server's SETTINGS (max header list 16 KB) are in force.
      expect((await h2Exchange(session, { ":path": "/.well-known/jwks.json" })).status).toBe(200);
      const big = await h2Exchange(session, { ":path": "/.well-known/jwks.json", "x-big": "a".repeat(65_536) });
      expect(big.status).toBeUndefined();
      expect(big.rstCode).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      const many = await h2Exchange(
        session,
        Object.fromEntries([[":path", "/.well-known/jwks.json"], ...Array.from({ length: 200 }, (_, i) => [`x-h${i}`, "v"])]),
      );
      expect(many.status).toBeUndefined();
      expect(many.rstCode).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      expect(session.closed || session.destroyed).toBe(false);
      expect((await h2Exchange(session, { ":path": "/.well-known/jwks.json" })).status).toBe(200);
    } finally {
      session.close();
    }
    await stillServes(defaults, ok);
  });

  // BUG (src/server.ts h2Options): the 16 KB header limit is only the SETTINGS value Node
  // advertises, and nghttp2 applies a local SETTINGS value only once the client has
  // acknowledged it. The first stream of every new connection is read before that, so a 64 KB
  // header block (and up to several MB; larger ones end the session) is accepted and answered
  // 200 simply by opening a new connection per request. A check of the received header size in
  // the request handler (431 / RST_STREAM) would close the gap.
  it.fails("refuses a 64 KB header block on the first stream of a new h2 connection", async () => {
    const session = http2.connect(defaults.url, { maxSendHeaderBlockLength: 1 << 20 });
    session.on("error", () => {});
    try {
      const big = await h2Exchange(session, { ":path": "/.well-known/jwks.json", "x-big": "a".repeat(65_536) });
      expect(big.status).not.toBe(200);
    } finally {
      session.destroy();
    }
  });
});

describe("deadlines (TESSERA_MAX_DEADLINE=5s)", () => {
  const issueJson = (headers: Record<string, string>) =>
    fetch(`${small.url}${ISSUE}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ clientId: okSmall.clientId, clientSecret: okSmall.clientSecret }),
    });

  it("refuses a gRPC deadline beyond the cap with INVALID_ARGUMENT and accepts one within it", async () => {
    const tokens = grpcClient("TokenService", small.port);
    try {
      const far = await grpcCall(
        tokens,
        "IssueToken",
        { client_id: okSmall.clientId, client_secret: okSmall.clientSecret },
        { deadlineMs: 60_000 },
      );
      expect(far).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });
      if (!far.ok) expect(far.details).toMatch(/^timeout \d+ms must be <= 5000$/);
      const near = await grpcCall(
        tokens,
        "IssueToken",
        { client_id: okSmall.clientId, client_secret: okSmall.clientSecret },
        { deadlineMs: 4000 },
      );
      expect(near.ok).toBe(true);
    } finally {
      tokens.close();
    }
  });

  it("refuses connect-timeout-ms beyond the cap with HTTP 400 invalid_argument", async () => {
    const far = await issueJson({ "connect-timeout-ms": "60000" });
    expect(far.status).toBe(400);
    expect(await far.json()).toStrictEqual({ code: "invalid_argument", message: "timeout 60000ms must be <= 5000" });
    expect((await issueJson({ "connect-timeout-ms": "5000" })).status).toBe(200);
  });

  it("refuses malformed timeouts as protocol errors (INVALID_ARGUMENT / 400), never INTERNAL", async () => {
    const body = grpcFrame(
      toBinary(
        IssueTokenRequestSchema,
        create(IssueTokenRequestSchema, { clientId: okSmall.clientId, clientSecret: okSmall.clientSecret }),
      ),
    );
    const abc = await rawGrpc(small.url, ISSUE, body, { "grpc-timeout": "abc" });
    expect(abc).toMatchObject({ grpcStatus: grpc.status.INVALID_ARGUMENT, grpcMessage: "protocol error: invalid grpc timeout value: abc" });
    // gRPC allows at most 8 digits.
    const nine = await rawGrpc(small.url, ISSUE, body, { "grpc-timeout": "123456789S" });
    expect(nine).toMatchObject({
      grpcStatus: grpc.status.INVALID_ARGUMENT,
      grpcMessage: "protocol error: invalid grpc timeout value: 123456789S",
    });
    const huge = await rawGrpc(small.url, ISSUE, body, { "grpc-timeout": "99999999H" });
    expect(huge.grpcStatus).toBe(grpc.status.INVALID_ARGUMENT);
    expect(huge.grpcMessage).toMatch(/^timeout \d+ms must be <= 5000$/);
    const res = await issueJson({ "connect-timeout-ms": "abc" });
    expect(res.status).toBe(400);
    expect(await res.json()).toStrictEqual({ code: "invalid_argument", message: "protocol error: invalid connect timeout value: abc" });
    // A valid timeout within the cap on the same raw path succeeds.
    const fine = await rawGrpc(small.url, ISSUE, body, { "grpc-timeout": "4S" });
    expect(fine).toMatchObject({ httpStatus: 200, grpcStatus: grpc.status.OK });
    await stillServes(small, okSmall);
  });
});

describe("after the limits above", () => {
  it("both servers still issue tokens over HTTP/1.1 and gRPC", async () => {
    await stillServes(defaults, ok);
    await stillServes(small, okSmall);
    const tokens = grpcClient("TokenService", small.port);
    try {
      expect(
        (await grpcCall(tokens, "IssueToken", { client_id: okSmall.clientId, client_secret: okSmall.clientSecret }, AT_SMALL_CAP)).ok,
      ).toBe(true);
    } finally {
      tokens.close();
    }
  });
});
