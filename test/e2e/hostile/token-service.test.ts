import { gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IssueTokenRequestSchema } from "../../../gen/tessera/v1/token_service_pb.js";
import { grpcClient } from "../../helpers/grpc-js.js";
import { basic, startTestServer, type TestServer } from "../../helpers/test-server.js";
import { type GrpcAnswer, grpcCall, grpcFrame, rawGrpc } from "../limits/wire.js";

// Hostile input at the gRPC door (TokenService/IssueToken through grpc-js, raw h2 frames,
// and the Connect protocol on the same port): each gets its exact gRPC code, OAuth reason and
// message; never INTERNAL, a hang or a crash; the server still issues tokens afterwards.

const ISSUE = "/tessera.v1.TokenService/IssueToken";
let server: TestServer;
let tokens: grpc.Client;
let c: { clientId: string; clientSecret: string };

beforeAll(async () => {
  server = await startTestServer({ env: { TESSERA_AUTH_FAILURE_LIMIT: "0" } });
  c = await server.createClient({ scopes: ["read", "write"], audiences: ["https://api.example.com"] });
  tokens = grpcClient("TokenService", server.port);
});
afterAll(async () => {
  tokens?.close();
  await server?.stop();
});

const good = () => ({ client_id: c.clientId, client_secret: c.clientSecret });
const TEN_KB = "a".repeat(10_240);
const b64 = (s: string | Buffer) => Buffer.from(s).toString("base64");

/** A refusal with exactly this code, OAuth reason and message. */
function expectRefused(a: GrpcAnswer<unknown>, code: grpc.status, reason: string | undefined, details: string): void {
  expect(a).toMatchObject({ ok: false, code, reason, details });
}

const UNAUTH = [grpc.status.UNAUTHENTICATED, "invalid_client", "Client authentication failed"] as const;

const CASES: [string, () => { request: object; metadata?: Record<string, string> }, readonly [grpc.status, string, string]][] = [
  ["an empty request", () => ({ request: {} }), UNAUTH],
  ["a 10 KB client id", () => ({ request: { ...good(), client_id: TEN_KB } }), UNAUTH],
  ["a 10 KB secret", () => ({ request: { ...good(), client_secret: TEN_KB } }), UNAUTH],
  ["a NUL in the client id", () => ({ request: { ...good(), client_id: `${c.clientId}\u0000` } }), UNAUTH],
  ["control characters in the client id", () => ({ request: { ...good(), client_id: "\u0001\u001b[31m\u007f" } }), UNAUTH],
  [
    "a NUL in the scope",
    () => ({ request: { ...good(), scope: "read\u0000" } }),
    [
      grpc.status.INVALID_ARGUMENT,
      "invalid_scope",
      `The scope 'read%00' is malformed: a scope is printable ASCII without double quote or backslash, at most 200 characters`,
    ],
  ],
  // A byte order mark is part of the value: read as no scope at all, it would get the client's default scopes.
  [
    "a byte order mark as the whole scope",
    () => ({ request: { ...good(), scope: "\ufeff" } }),
    [
      grpc.status.INVALID_ARGUMENT,
      "invalid_scope",
      `The scope '%EF%BB%BF' is malformed: a scope is printable ASCII without double quote or backslash, at most 200 characters`,
    ],
  ],
  [
    "a byte order mark before the scope",
    () => ({ request: { ...good(), scope: "\ufeffread" } }),
    [
      grpc.status.INVALID_ARGUMENT,
      "invalid_scope",
      `The scope '%EF%BB%BFread' is malformed: a scope is printable ASCII without double quote or backslash, at most 200 characters`,
    ],
  ],
  [
    "a 10 KB scope",
    () => ({ request: { ...good(), scope: TEN_KB } }),
    [
      grpc.status.INVALID_ARGUMENT,
      "invalid_scope",
      `The scope '${"a".repeat(40)}...' is malformed: a scope is printable ASCII without double quote or backslash, at most 200 characters`,
    ],
  ],
  [
    "10,000 scopes",
    () => ({ request: { ...good(), scope: Array.from({ length: 10_000 }, (_, i) => `s${i}`).join(" ") } }),
    [grpc.status.INVALID_ARGUMENT, "invalid_scope", "At most 200 scopes may be requested"],
  ],
  [
    "1,000 audiences",
    () => ({ request: { ...good(), audience: Array.from({ length: 1000 }, (_, i) => `https://a${i}.example`) } }),
    [grpc.status.INVALID_ARGUMENT, "invalid_target", "The audience 'https://a0.example' is not allowed for this client"],
  ],
  [
    "a 10 KB audience",
    () => ({ request: { ...good(), audience: [TEN_KB] } }),
    [grpc.status.INVALID_ARGUMENT, "invalid_target", `The audience '${"a".repeat(40)}...' is not allowed for this client`],
  ],
  [
    "Basic metadata with bad base64",
    () => ({ request: {}, metadata: { authorization: "Basic !!!!" } }),
    [grpc.status.INVALID_ARGUMENT, "invalid_request", "The Authorization header is not valid Basic credentials (bad base64)"],
  ],
  [
    "Basic metadata without a colon",
    () => ({ request: {}, metadata: { authorization: `Basic ${b64(c.clientId)}` } }),
    [grpc.status.INVALID_ARGUMENT, "invalid_request", "The Authorization header is not valid Basic credentials (no colon)"],
  ],
  [
    "Basic metadata with a raw %",
    () => ({ request: {}, metadata: { authorization: `Basic ${b64(`${c.clientId}:50%`)}` } }),
    [
      grpc.status.INVALID_ARGUMENT,
      "invalid_request",
      "The Basic credentials are not form-urlencoded UTF-8 (RFC 6749 Appendix B): a '%' escape is malformed or not UTF-8",
    ],
  ],
  [
    "Bearer metadata",
    () => ({ request: {}, metadata: { authorization: "Bearer abc" } }),
    [grpc.status.UNAUTHENTICATED, "invalid_client", "Only Basic client authentication is supported in the Authorization header"],
  ],
  [
    "Basic metadata and a secret field together",
    () => ({ request: { client_secret: "x" }, metadata: { authorization: basic(c.clientId, c.clientSecret) } }),
    [grpc.status.INVALID_ARGUMENT, "invalid_request", "The request uses more than one client authentication method (RFC 6749 section 2.3)"],
  ],
  [
    "Basic metadata and a different client_id field",
    () => ({ request: { client_id: "someone-else" }, metadata: { authorization: basic(c.clientId, c.clientSecret) } }),
    [grpc.status.INVALID_ARGUMENT, "invalid_request", "The client_id parameter does not match the Basic credentials"],
  ],
  ["a 10 KB id in Basic metadata", () => ({ request: {}, metadata: { authorization: basic(TEN_KB, "x") } }), UNAUTH],
];

describe("hostile IssueToken calls (grpc-js)", () => {
  for (const [name, make, [code, reason, details]] of CASES) {
    it(`${name} -> ${grpc.status[code]} ${reason}`, async () => {
      const { request, metadata } = make();
      expectRefused(await grpcCall(tokens, "IssueToken", request, metadata ? { metadata } : {}), code, reason, details);
    });
  }

  it("a valid request with a Basic id that needs form-decoding works (RFC 6749 Appendix B)", async () => {
    const odd = await server.createClient({ clientId: "a.b_c~d-e" });
    const a = await grpcCall(tokens, "IssueToken", {}, { metadata: { authorization: basic(odd.clientId, odd.clientSecret) } });
    expect(a.ok).toBe(true);
  });
});

describe("hostile bytes on the wire (raw h2 gRPC)", () => {
  const valid = () =>
    toBinary(IssueTokenRequestSchema, create(IssueTokenRequestSchema, { clientId: c.clientId, clientSecret: c.clientSecret }));

  it("a frame shorter than its 5-byte prefix -> INVALID_ARGUMENT protocol error", async () => {
    const a = await rawGrpc(server.url, ISSUE, Buffer.from([0, 0, 0, 0, 10, 1]));
    expect(a).toMatchObject({
      httpStatus: 200,
      grpcStatus: grpc.status.INVALID_ARGUMENT,
      grpcMessage: "protocol error: incomplete envelope",
    });
  });

  it("two messages for a unary call -> UNIMPLEMENTED protocol error", async () => {
    const a = await rawGrpc(server.url, ISSUE, Buffer.concat([grpcFrame(valid()), grpcFrame(valid())]));
    expect(a).toMatchObject({
      grpcStatus: grpc.status.UNIMPLEMENTED,
      grpcMessage: "protocol error: received extra input message for unary method",
    });
  });

  it("no message at all for a unary call -> UNIMPLEMENTED protocol error", async () => {
    const a = await rawGrpc(server.url, ISSUE, Buffer.alloc(0));
    expect(a).toMatchObject({
      grpcStatus: grpc.status.UNIMPLEMENTED,
      grpcMessage: "protocol error: missing input message for unary method",
    });
  });

  it("a protobuf body labelled application/grpc+json -> INVALID_ARGUMENT (cannot decode JSON)", async () => {
    const a = await rawGrpc(server.url, ISSUE, grpcFrame(valid()), { "content-type": "application/grpc+json" });
    expect(a.grpcStatus).toBe(grpc.status.INVALID_ARGUMENT);
    expect(a.grpcMessage).toMatch(/^cannot decode message tessera\.v1\.IssueTokenRequest from JSON/);
  });

  it("a gzip bomb (10 KB that inflates to 10 MB) -> RESOURCE_EXHAUSTED after decompression, over gRPC and Connect", async () => {
    const n = 10 << 20; // scope (field 3) of 10 MB: tag, 4-byte varint length, bytes
    const message = Buffer.concat([
      Buffer.from([0x1a, 0x80 | (n & 0x7f), 0x80 | ((n >> 7) & 0x7f), 0x80 | ((n >> 14) & 0x7f), (n >> 21) & 0x7f]),
      Buffer.alloc(n, 0x61),
    ]);
    const a = await rawGrpc(server.url, ISSUE, grpcFrame(gzipSync(message), true), { "grpc-encoding": "gzip" });
    expect(a).toMatchObject({
      grpcStatus: grpc.status.RESOURCE_EXHAUSTED,
      grpcMessage: "message is larger than configured readMaxBytes 65536 after decompression",
    });
    const res = await fetch(`${server.url}${ISSUE}`, {
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
      body: new Uint8Array(gzipSync(Buffer.from(JSON.stringify({ scope: "a".repeat(n) })))),
    });
    expect(res.status).toBe(429);
    expect(await res.json()).toStrictEqual({
      code: "resource_exhausted",
      message: "message is larger than configured readMaxBytes 65536 after decompression",
    });
  });

  it("unknown fields in the message are ignored (protobuf rules) and the call succeeds", async () => {
    const extra = Buffer.concat([Buffer.from(valid()), Buffer.from([0xf8, 0x07, 0x01])]); // field 127, varint 1
    const a = await rawGrpc(server.url, ISSUE, grpcFrame(extra));
    expect(a).toMatchObject({ httpStatus: 200, grpcStatus: grpc.status.OK });
  });

  it("a compressed flag without grpc-encoding -> INTERNAL, as the gRPC compression spec requires", async () => {
    // doc/compression.md: a compressed message without a grpc-encoding the server accepted "MUST"
    // be answered INTERNAL. The one place here where INTERNAL is the right answer.
    const a = await rawGrpc(server.url, ISSUE, grpcFrame(valid(), true));
    expect(a).toMatchObject({
      grpcStatus: grpc.status.INTERNAL,
      grpcMessage: "received compressed envelope, but do not know how to decompress",
    });
  });

  it("an unknown grpc-encoding -> UNIMPLEMENTED naming the supported ones", async () => {
    const a = await rawGrpc(server.url, ISSUE, grpcFrame(valid(), true), { "grpc-encoding": "snappy-xyz" });
    expect(a).toMatchObject({
      grpcStatus: grpc.status.UNIMPLEMENTED,
      grpcMessage: 'unknown compression "snappy-xyz": supported encodings are gzip,br',
    });
  });

  it("an unknown method -> HTTP 404 (grpc-js reports UNIMPLEMENTED), never INTERNAL", async () => {
    const raw = await rawGrpc(server.url, "/tessera.v1.TokenService/NoSuchMethod", grpcFrame(valid()));
    expect(raw).toMatchObject({ httpStatus: 404, grpcStatus: undefined });
  });

  it("an unknown grpc content subtype (application/grpc+foo) -> HTTP 415", async () => {
    const raw = await rawGrpc(server.url, ISSUE, grpcFrame(valid()), { "content-type": "application/grpc+foo" });
    expect(raw.httpStatus).toBe(415);
  });

  // gRPC IssueToken runs on Tessera's fast path (src/transport/grpc/services/fast-issue-token.ts);
  // the Connect protocol goes through connect's router, whose INTERNAL answer for an undecodable
  // message is restated as the caller's error (src/transport/grpc/unparsable-requests.ts). Both
  // answer in the same words. Every protocol and method: unparsable-messages.test.ts.
  it("a message that is not protobuf -> INVALID_ARGUMENT", async () => {
    const a = await rawGrpc(server.url, ISSUE, grpcFrame(Buffer.from([0xff, 0xff, 0xff])));
    expect(a.grpcStatus).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it("a string field that is not UTF-8 -> INVALID_ARGUMENT", async () => {
    const a = await rawGrpc(server.url, ISSUE, grpcFrame(Buffer.from([0x0a, 0x02, 0xff, 0xfe]))); // client_id = FF FE
    expect(a.grpcStatus).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it("the same bytes as a Connect binary body -> 400 invalid_argument in the same words, not 500", async () => {
    const a = await rawGrpc(server.url, ISSUE, grpcFrame(Buffer.from([0xff, 0xff, 0xff])));
    expect(a).toMatchObject({
      grpcStatus: grpc.status.INVALID_ARGUMENT,
      grpcMessage: "the request is not a valid IssueTokenRequest (premature EOF)",
    });
    const res = await fetch(`${server.url}${ISSUE}`, {
      method: "POST",
      headers: { "content-type": "application/proto" },
      body: new Uint8Array([0xff, 0xff, 0xff]),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toStrictEqual({
      code: "invalid_argument",
      message: "the request is not a valid IssueTokenRequest (premature EOF)",
    });
  });
});

describe("hostile Connect requests (JSON over HTTP/1.1 on the same port)", () => {
  const connect = (body: string | Uint8Array, contentType = "application/json") =>
    fetch(`${server.url}${ISSUE}`, { method: "POST", headers: { "content-type": contentType }, body });

  it("text/plain -> 415", async () => {
    const res = await connect("hello", "text/plain");
    expect(res.status).toBe(415);
    await res.arrayBuffer();
  });

  it("broken JSON -> 400 invalid_argument naming the message", async () => {
    const res = await connect("{");
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe("invalid_argument");
    expect(body.message).toMatch(/^cannot decode message tessera\.v1\.IssueTokenRequest from JSON/);
  });

  it("a field of the wrong type -> 400 invalid_argument naming the field", async () => {
    const res = await connect(JSON.stringify({ clientId: 5 }));
    expect(res.status).toBe(400);
    expect(await res.json()).toStrictEqual({
      code: "invalid_argument",
      message: "cannot decode field tessera.v1.IssueTokenRequest.client_id from JSON: expected string, got 5",
    });
  });

  it("10,000 scopes -> 400 invalid_argument with the invalid_scope reason", async () => {
    const res = await connect(
      JSON.stringify({
        clientId: c.clientId,
        clientSecret: c.clientSecret,
        scope: Array.from({ length: 10_000 }, (_, i) => `s${i}`).join(" "),
      }),
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: string; message: string; details: { debug?: { reason: string } }[] };
    expect(body.code).toBe("invalid_argument");
    expect(body.message).toBe("At most 200 scopes may be requested");
    expect(body.details[0]?.debug?.reason).toBe("invalid_scope");
  });

  it("JSON with a byte that is not UTF-8 is read leniently and fails authentication: 401 unauthenticated", async () => {
    // connect-es decodes JSON bodies with a replacing TextDecoder, so the id becomes U+FFFD.
    const bytes = Buffer.concat([Buffer.from('{"clientId":"'), Buffer.from([0xff]), Buffer.from('","clientSecret":"x"}')]);
    const res = await connect(new Uint8Array(bytes));
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: "unauthenticated", message: "Client authentication failed" });
  });
});

describe("a 1 ms deadline", () => {
  // Whether 1 ms is enough depends on how busy the machine is: each try may end either way,
  // and each outcome is checked for what it must then be.
  it("ends in DEADLINE_EXCEEDED or success, never INTERNAL, and the server answers afterwards (20 tries)", async () => {
    for (let i = 0; i < 20; i++) {
      const a = await grpcCall<{ token_type: string }>(tokens, "IssueToken", good(), { deadlineMs: 1 });
      if (a.ok) expect(a.response.token_type).toBe("Bearer");
      else expect(a.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    }
    expect((await grpcCall(tokens, "IssueToken", good())).ok).toBe(true);
  });

  it("sent to the server as grpc-timeout: 1m (one millisecond) -> OK or DEADLINE_EXCEEDED", async () => {
    const body = grpcFrame(
      toBinary(IssueTokenRequestSchema, create(IssueTokenRequestSchema, { clientId: c.clientId, clientSecret: c.clientSecret })),
    );
    for (const timeout of ["1m", "1u", "1n"]) {
      const a = await rawGrpc(server.url, ISSUE, body, { "grpc-timeout": timeout });
      expect(a.error).toBeUndefined();
      expect(a.httpStatus).toBe(200);
      expect([grpc.status.OK, grpc.status.DEADLINE_EXCEEDED]).toContain(a.grpcStatus);
    }
  });

  it("sent as connect-timeout-ms: 1 -> 200 with a token or 504 deadline_exceeded (the Connect mapping), never 500", async () => {
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${server.url}${ISSUE}`, {
        method: "POST",
        headers: { "content-type": "application/json", "connect-timeout-ms": "1" },
        body: JSON.stringify({ clientId: c.clientId, clientSecret: c.clientSecret }),
      });
      const body = (await res.json()) as { code?: string; tokenType?: string; accessToken?: string };
      if (res.status === 200) {
        expect(body.tokenType).toBe("Bearer");
        expect(body.accessToken).toMatch(/^eyJ/);
      } else {
        expect(res.status).toBe(504);
        expect(body.code).toBe("deadline_exceeded");
      }
    }
  });
});

describe("after all of the above", () => {
  it("the server still issues a normal token over gRPC and Connect", async () => {
    const a = await grpcCall<{ token_type: string; scope: string }>(tokens, "IssueToken", { ...good(), scope: "read" });
    expect(a).toMatchObject({ ok: true, response: { token_type: "Bearer", scope: "read" } });
    const res = await fetch(`${server.url}${ISSUE}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ clientId: c.clientId, clientSecret: c.clientSecret }),
    });
    expect(res.status).toBe(200);
  });
});
