import http2 from "node:http2";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../../helpers/eventually.js";
import { httpRequest } from "../../helpers/http.js";
import { parseExposition, valueOf } from "../../helpers/ops-prometheus.js";
import { bootstrap, type LogLine, startTessera, type TesseraProcess, tempDir } from "../../helpers/tessera-process.js";
import { connect, grpcFrame, parseResponse, rawGrpc } from "../limits/wire.js";

// A request body that is not the method's protobuf message, through every door connect-node
// serves on the real `tessera serve` (Connect unary over HTTP/1.1 and h2c, gRPC from grpc-js
// with a serializer that sends the bytes as they are, gRPC-Web): the caller's error,
// INVALID_ARGUMENT / HTTP 400 with a message naming what is wrong with the bytes, logged at
// info as invalid_request (token calls) or InvalidArgument (admin calls) and counted so in
// /metrics; never INTERNAL / HTTP 500, never an error-level line.

type Protocol = "Connect over HTTP/1.1" | "Connect over h2c" | "gRPC (grpc-js)" | "gRPC-Web";
const PROTOCOLS: Protocol[] = ["Connect over HTTP/1.1", "Connect over h2c", "gRPC (grpc-js)", "gRPC-Web"];

interface Target {
  path: string;
  /** The request message's name, as the answer names it. */
  input: string;
  /** The field number of a string field of the request message. */
  stringField: number;
  protocols: Protocol[];
}

const TARGETS: Target[] = [
  // Plain gRPC IssueToken is served by its own fast path, which must answer in the same words.
  { path: "/tessera.v1.TokenService/IssueToken", input: "IssueTokenRequest", stringField: 1, protocols: PROTOCOLS },
  { path: "/tessera.v1.TokenService/IntrospectToken", input: "IntrospectTokenRequest", stringField: 3, protocols: PROTOCOLS },
  { path: "/tessera.v1.ClientAdmin/ListClients", input: "ListClientsRequest", stringField: 2, protocols: PROTOCOLS },
];

const tag = (field: number, wireType: number) => (field << 3) | wireType;
const LEN = 2;

/** Malformed bodies for a message whose field `f` is a string, and what protobuf-es says of each. */
const BODIES: [string, (f: number) => number[], (f: number) => string][] = [
  ["a truncated varint (a length whose continuation bit never ends)", (f) => [tag(f, LEN), 0x80], () => "premature EOF"],
  ["a wrong wire type (7 does not exist)", (f) => [tag(f, 7), 0x00], (f) => `illegal tag: field no ${f} wire type 7`],
  ["invalid UTF-8 in a string field", (f) => [tag(f, LEN), 0x02, 0xff, 0xfe], () => "The encoded data was not valid for encoding utf-8"],
  ["a length running past the end", (f) => [tag(f, LEN), 0x10, 0x61], () => "premature EOF"],
];

let server: TesseraProcess;
let session: http2.ClientHttp2Session;
let raw: grpc.Client;

beforeAll(async () => {
  const db = join(tempDir("unparsable"), "tessera.db");
  await bootstrap(db);
  server = await startTessera({ db });
  session = http2.connect(server.url);
  session.on("error", () => {});
  raw = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
});
afterAll(async () => {
  raw?.close();
  session?.destroy();
  await server?.stop();
});

/** An answer reduced to what a caller checks: the code (and HTTP status for Connect) and the message. */
interface Refusal {
  http?: number | undefined;
  code: string | number | undefined;
  message: string | undefined;
}

async function connectH1(path: string, body: Buffer): Promise<Refusal> {
  const res = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/proto" },
    body,
    signal: AbortSignal.timeout(5000),
  });
  const json = (await res.json()) as { code?: string; message?: string };
  return { http: res.status, code: json.code, message: json.message };
}

/** One POST on the shared h2c session; resolves with the status and the body's bytes. */
function h2Post(path: string, contentType: string, body: Buffer): Promise<{ status: number | undefined; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ":path": path, "content-type": contentType });
    const chunks: Buffer[] = [];
    let status: number | undefined;
    stream.on("response", (h) => (status = h[":status"]));
    stream.on("data", (d: Buffer) => chunks.push(d));
    stream.on("error", reject);
    stream.on("close", () => resolve({ status, body: Buffer.concat(chunks) }));
    stream.end(body);
  });
}

async function connectH2(path: string, body: Buffer): Promise<Refusal> {
  const a = await h2Post(path, "application/proto", body);
  const json = JSON.parse(a.body.toString()) as { code?: string; message?: string };
  return { http: a.status, code: json.code, message: json.message };
}

function grpcJs(path: string, body: Buffer): Promise<Refusal> {
  const same = (b: Buffer) => b;
  return new Promise((resolve) => {
    raw.makeUnaryRequest(path, same, same, body, new grpc.Metadata(), { deadline: Date.now() + 5000 }, (err) => {
      resolve({ code: err?.code ?? grpc.status.OK, message: err ? decodeURIComponent(err.details) : undefined });
    });
  });
}

async function grpcWeb(path: string, body: Buffer): Promise<Refusal> {
  const res = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
    body: grpcFrame(body),
    signal: AbortSignal.timeout(5000),
  });
  const trailer = grpcWebTrailer(Buffer.from(await res.arrayBuffer()));
  return { http: res.status, code: Number(trailer["grpc-status"]), message: decodeURIComponent(trailer["grpc-message"] ?? "") };
}

/** The trailer frame (flag 0x80) of a gRPC-Web body, as header name -> value. */
function grpcWebTrailer(body: Buffer): Record<string, string> {
  for (let at = 0; at + 5 <= body.length; at += 5 + body.readUInt32BE(at + 1)) {
    if ((body[at]! & 0x80) === 0) continue;
    const text = body.subarray(at + 5, at + 5 + body.readUInt32BE(at + 1)).toString("latin1");
    return Object.fromEntries(
      text
        .split("\r\n")
        .filter(Boolean)
        .map((l) => [l.slice(0, l.indexOf(":")).trim().toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]),
    );
  }
  throw new Error("no trailer frame in the gRPC-Web answer");
}

const SEND: Record<Protocol, (path: string, body: Buffer) => Promise<Refusal>> = {
  "Connect over HTTP/1.1": connectH1,
  "Connect over h2c": connectH2,
  "gRPC (grpc-js)": grpcJs,
  "gRPC-Web": grpcWeb,
};

/** What each protocol must answer: INVALID_ARGUMENT in its own terms. */
const INVALID: Record<Protocol, Omit<Refusal, "message">> = {
  "Connect over HTTP/1.1": { http: 400, code: "invalid_argument" },
  "Connect over h2c": { http: 400, code: "invalid_argument" },
  "gRPC (grpc-js)": { code: grpc.status.INVALID_ARGUMENT },
  "gRPC-Web": { http: 200, code: grpc.status.INVALID_ARGUMENT },
};

/** How many malformed requests each endpoint was sent, by the log line's method or endpoint. */
const sent = { token: 0, introspect: 0, ListClients: 0 };

describe("a body that is not the request message -> INVALID_ARGUMENT naming the problem", () => {
  for (const t of TARGETS) {
    for (const protocol of t.protocols) {
      for (const [name, bytes, reason] of BODIES) {
        it(`${t.path} over ${protocol}: ${name}`, async () => {
          const endpoint = t.path.endsWith("IssueToken") ? "token" : t.path.endsWith("IntrospectToken") ? "introspect" : "ListClients";
          sent[endpoint]++;
          const answer = await SEND[protocol](t.path, Buffer.from(bytes(t.stringField)));
          expect(answer).toStrictEqual({
            ...INVALID[protocol],
            message: `the request is not a valid ${t.input} (${reason(t.stringField)})`,
          });
        });
      }
    }
  }
});

describe("compressed bodies are decompressed first, then refused the same way", () => {
  // A string field (1 of IssueTokenRequest, 2 of ListClientsRequest): 16 bytes announced, 1 sent.
  const cut = (field: number) => gzipSync(Buffer.from([tag(field, LEN), 0x10, 0x61]));

  it("gRPC IssueToken with grpc-encoding gzip (past the fast path, which takes only plain calls)", async () => {
    sent.token++;
    const a = await rawGrpc(server.url, "/tessera.v1.TokenService/IssueToken", grpcFrame(cut(1), true), { "grpc-encoding": "gzip" });
    expect(a).toMatchObject({
      grpcStatus: grpc.status.INVALID_ARGUMENT,
      grpcMessage: "the request is not a valid IssueTokenRequest (premature EOF)",
    });
  });

  it("Connect ListClients with Content-Encoding gzip", async () => {
    sent.ListClients++;
    const res = await fetch(`${server.url}/tessera.v1.ClientAdmin/ListClients`, {
      method: "POST",
      headers: { "content-type": "application/proto", "content-encoding": "gzip" },
      body: cut(2),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toStrictEqual({
      code: "invalid_argument",
      message: "the request is not a valid ListClientsRequest (premature EOF)",
    });
  });
});

describe("streaming methods refuse an unparsable request message the same way", () => {
  const WATCH = "/grpc.health.v1.Health/Watch";
  const REFLECTION = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
  const bad = Buffer.from([0xff, 0xff, 0xff]);

  it("Health/Watch over gRPC (grpc-js) -> INVALID_ARGUMENT", async () => {
    const same = (b: Buffer) => b;
    const status = await new Promise<grpc.StatusObject>((resolve) => {
      const call = raw.makeServerStreamRequest(WATCH, same, same, bad, new grpc.Metadata(), { deadline: Date.now() + 5000 });
      call.on("data", () => {});
      call.on("error", () => {});
      call.on("status", resolve);
    });
    expect({ code: status.code, details: decodeURIComponent(status.details) }).toStrictEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: "the request is not a valid HealthCheckRequest (premature EOF)",
    });
  });

  it("Health/Watch over the Connect streaming protocol (h2c) -> end of stream with invalid_argument", async () => {
    const a = await h2Post(WATCH, "application/connect+proto", grpcFrame(bad));
    expect(a.status).toBe(200);
    const body = a.body;
    expect(body[0]).toBe(0x02); // the end-of-stream frame, and the only one
    expect(JSON.parse(body.subarray(5).toString())).toStrictEqual({
      error: { code: "invalid_argument", message: "the request is not a valid HealthCheckRequest (premature EOF)" },
    });
  });

  it("ServerReflectionInfo over gRPC-Web (h2c), after a valid first message -> INVALID_ARGUMENT", async () => {
    // list_services = "" (field 7): answered; then a message that is not one.
    const list = Buffer.from([0x3a, 0x00]);
    const a = await h2Post(REFLECTION, "application/grpc-web+proto", Buffer.concat([grpcFrame(list), grpcFrame(bad)]));
    const trailer = grpcWebTrailer(a.body);
    expect({ status: trailer["grpc-status"], message: decodeURIComponent(trailer["grpc-message"] ?? "") }).toStrictEqual({
      status: String(grpc.status.INVALID_ARGUMENT),
      message: "the request is not a valid ServerReflectionRequest (premature EOF)",
    });
  });
});

describe("an admin call whose bytes are not its request is refused before its token is checked", () => {
  const NOT_A_TOKEN = "Bearer not.a.token";
  const ADMIN: [string, string][] = [
    ["/tessera.v1.ClientAdmin/CreateClient", "CreateClientRequest"],
    ["/tessera.v1.KeyAdmin/RotateSigningKey", "RotateSigningKeyRequest"],
  ];
  const call = (path: string, body: Buffer) =>
    fetch(`${server.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/proto", authorization: NOT_A_TOKEN },
      body,
      signal: AbortSignal.timeout(5000),
    });

  for (const [path, input] of ADMIN) {
    it(`${path} with a token that is not one: invalid_argument, where a well-formed request gets unauthenticated`, async () => {
      const bad = await call(path, Buffer.from([tag(1, LEN), 0x80]));
      expect([bad.status, await bad.json()]).toStrictEqual([
        400,
        { code: "invalid_argument", message: `the request is not a valid ${input} (premature EOF)` },
      ]);
      const good = await call(path, Buffer.alloc(0));
      expect([good.status, ((await good.json()) as { code: string }).code]).toStrictEqual([401, "unauthenticated"]);
    });
  }

  it("over gRPC (grpc-js) too", async () => {
    const same = (b: Buffer) => b;
    const metadata = new grpc.Metadata();
    metadata.set("authorization", NOT_A_TOKEN);
    const err = await new Promise<grpc.ServiceError | null>((resolve) =>
      raw.makeUnaryRequest(
        "/tessera.v1.KeyAdmin/RotateSigningKey",
        same,
        same,
        Buffer.from([tag(1, LEN), 0x80]),
        metadata,
        { deadline: Date.now() + 5000 },
        resolve,
      ),
    );
    expect({ code: err?.code, details: decodeURIComponent(err?.details ?? "") }).toStrictEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: "the request is not a valid RotateSigningKeyRequest (premature EOF)",
    });
  });
});

describe("what the server logs and counts for them", () => {
  const tokenLines = (endpoint: string) => server.logs.filter((l) => l.msg === "token request" && l.endpoint === endpoint);
  const adminLines = () => server.logs.filter((l) => l.msg === "admin call" && l.method === "ListClients");

  it("one info line per request: token calls as invalid_request, admin calls as InvalidArgument", async () => {
    await eventually(
      "a log line per request",
      () =>
        tokenLines("token").length >= sent.token &&
        tokenLines("introspect").length >= sent.introspect &&
        adminLines().length >= sent.ListClients,
    );
    const quiet = (l: LogLine) => l.level === 30 && l.err === undefined && !/stack|\n\s+at /.test(JSON.stringify(l));
    for (const endpoint of ["token", "introspect"] as const) {
      expect(tokenLines(endpoint)).toHaveLength(sent[endpoint]);
      for (const l of tokenLines(endpoint))
        expect(l, JSON.stringify(l)).toMatchObject({ transport: "grpc", outcome: "error", error: "invalid_request" });
      expect(tokenLines(endpoint).every(quiet)).toBe(true);
    }
    expect(adminLines()).toHaveLength(sent.ListClients);
    for (const l of adminLines()) expect(l).toMatchObject({ service: "ClientAdmin", code: "InvalidArgument" });
    expect(adminLines().every(quiet)).toBe(true);
  });

  it("no error-level line and nothing on stderr", () => {
    expect(server.logs.filter((l) => typeof l.level === "number" && l.level >= 50)).toStrictEqual([]);
    expect(server.output()).not.toMatch(/"level":(50|60)|\n\s+at /);
  });

  it("/metrics counts them as invalid_request / InvalidArgument, with no server_error", async () => {
    const e = parseExposition((await httpRequest("GET", `${server.url}/metrics`)).text);
    const tokens = (endpoint: string) =>
      valueOf(e, "tessera_token_requests_total", { transport: "grpc", endpoint, outcome: "error", error: "invalid_request" });
    expect(tokens("token")).toBe(sent.token);
    expect(tokens("introspect")).toBe(sent.introspect);
    expect(valueOf(e, "tessera_admin_requests_total", { service: "ClientAdmin", method: "ListClients", code: "InvalidArgument" })).toBe(
      sent.ListClients,
    );
    expect(e.samples.filter((s) => s.labels.error === "server_error" || s.labels.code === "Internal")).toStrictEqual([]);
  });
});

describe("an RPC request that names no valid host", () => {
  const REQUESTS: [string, string][] = [
    ["over HTTP/1.0 without a Host header", "POST /tessera.v1.TokenService/IssueToken HTTP/1.0\r\n"],
    [
      "over HTTP/1.1 with a Host header that is no host name",
      "POST /tessera.v1.TokenService/IssueToken HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n",
    ],
  ];
  for (const [name, head] of REQUESTS) {
    it(`${name}: answered 400 and the server keeps serving`, async () => {
      const socket = await connect(server.port);
      const chunks: Buffer[] = [];
      socket.on("data", (d: Buffer) => chunks.push(d));
      socket.write(`${head}Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`);
      await new Promise((resolve) => socket.once("close", resolve));
      const answer = parseResponse(Buffer.concat(chunks));
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body.toString())).toStrictEqual({
        code: "invalid_argument",
        message: "the request names no valid host: send a Host header with the server's host name or address",
      });
      expect(server.child.exitCode).toBeNull();
      expect((await httpRequest("GET", `${server.url}/healthz`)).status).toBe(200);
    });
  }
});
