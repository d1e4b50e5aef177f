import { create, type DescService, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health } from "../../../gen/grpc/health/v1/health_pb.js";
import { ClientAdmin } from "../../../gen/tessera/v1/client_admin_pb.js";
import { KeyAdmin } from "../../../gen/tessera/v1/key_admin_pb.js";
import { IssueTokenRequestSchema, IssueTokenResponseSchema, TokenService } from "../../../gen/tessera/v1/token_service_pb.js";
import { startTestServer, type TestServer } from "../../helpers/test-server.js";
import { grpcFrame } from "../limits/wire.js";

// Any bytes as the request message of any unary RPC, over Connect (protobuf binary, HTTP/1.1),
// gRPC (grpc-js, which takes plain IssueToken to its fast path) and gRPC-Web, on the real
// server: whatever they decode to, or fail to, the answer is never INTERNAL / UNKNOWN / a 5xx.
// Bytes that are not the request message are the caller's INVALID_ARGUMENT; bytes that happen
// to be one get the method's own answer (mostly UNAUTHENTICATED, as nobody is authenticated
// here). After each, the same protocol still gets a good answer to a good request.

// Every service the port serves with unary methods (the reflection service is a stream only).
const SERVICES: DescService[] = [TokenService, ClientAdmin, KeyAdmin, Health];
const PATHS = SERVICES.flatMap((s) => s.methods.filter((m) => m.methodKind === "unary").map((m) => `/${s.typeName}/${m.name}`));
const CHECK = "/grpc.health.v1.Health/Check";
const ISSUE = "/tessera.v1.TokenService/IssueToken";
const SERVING = Buffer.from([0x08, 0x01]); // HealthCheckResponse{status: SERVING}

type Protocol = "Connect" | "gRPC" | "gRPC-Web";

/** An answer in one shape: the gRPC code (Connect's string code mapped to it), the HTTP status where there is one, the message and the response bytes. */
interface Answer {
  http: number | undefined;
  code: number;
  message: string;
  body: Buffer;
}

/** Connect's error codes as gRPC numbers (connect.build protocol). */
const CONNECT_CODES = [
  "ok",
  "canceled",
  "unknown",
  "invalid_argument",
  "deadline_exceeded",
  "not_found",
  "already_exists",
  "permission_denied",
  "resource_exhausted",
  "failed_precondition",
  "aborted",
  "out_of_range",
  "unimplemented",
  "internal",
  "unavailable",
  "data_loss",
  "unauthenticated",
];

let server: TestServer;
let client: grpc.Client;

beforeAll(async () => {
  server = await startTestServer();
  client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
});
afterAll(async () => {
  client?.close();
  await server?.stop();
});

async function viaConnect(path: string, message: Uint8Array): Promise<Answer> {
  const res = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/proto" },
    body: message,
    signal: AbortSignal.timeout(5000),
  });
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status === 200) return { http: 200, code: 0, message: "", body };
  const json = JSON.parse(body.toString()) as { code: string; message?: string };
  return { http: res.status, code: CONNECT_CODES.indexOf(json.code), message: json.message ?? "", body };
}

function viaGrpc(path: string, message: Uint8Array): Promise<Answer> {
  const same = (b: Buffer) => b;
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, same, same, Buffer.from(message), new grpc.Metadata(), { deadline: Date.now() + 5000 }, (err, value) => {
      resolve({
        http: undefined,
        code: err?.code ?? grpc.status.OK,
        message: err ? decodeURIComponent(err.details) : "",
        body: value ?? Buffer.alloc(0),
      });
    });
  });
}

async function viaGrpcWeb(path: string, message: Uint8Array): Promise<Answer> {
  const res = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
    body: grpcFrame(message),
    signal: AbortSignal.timeout(5000),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  let body = Buffer.alloc(0);
  let trailer = "";
  for (let at = 0; at + 5 <= bytes.length; at += 5 + bytes.readUInt32BE(at + 1)) {
    const data = bytes.subarray(at + 5, at + 5 + bytes.readUInt32BE(at + 1));
    if ((bytes[at]! & 0x80) === 0) body = data;
    else trailer = data.toString("latin1");
  }
  const field = (name: string) => new RegExp(`^${name}:(.*)$`, "mi").exec(trailer)?.[1]?.trim();
  return { http: res.status, code: Number(field("grpc-status") ?? NaN), message: decodeURIComponent(field("grpc-message") ?? ""), body };
}

const SEND: Record<Protocol, (path: string, message: Uint8Array) => Promise<Answer>> = {
  Connect: viaConnect,
  gRPC: viaGrpc,
  "gRPC-Web": viaGrpcWeb,
};

/** A well-formed IssueTokenRequest with every string field set, for mutations that reach deeper than random bytes. */
const NEAR_VALID = toBinary(
  IssueTokenRequestSchema,
  create(IssueTokenRequestSchema, {
    clientId: "tcl_x",
    clientSecret: "tsec_y",
    scope: "read write",
    audience: ["https://api.example.com"],
  }),
);

/** Random bytes, or that message cut short or with one byte changed. */
const bodies = fc.oneof(
  fc.uint8Array({ maxLength: 48 }),
  fc.nat(NEAR_VALID.length - 1).map((n) => NEAR_VALID.subarray(0, n)),
  fc.tuple(fc.nat(NEAR_VALID.length - 1), fc.integer({ min: 0, max: 255 })).map(([at, byte]) => {
    const copy = Uint8Array.from(NEAR_VALID);
    copy[at] = byte;
    return copy;
  }),
);

describe("random bytes as a request message", () => {
  it(`property: never INTERNAL, UNKNOWN or a 5xx, on any of the ${PATHS.length} unary methods over Connect, gRPC and gRPC-Web, and a good request is answered afterwards`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Protocol>("Connect", "gRPC", "gRPC-Web"),
        fc.constantFrom(...PATHS),
        bodies,
        async (protocol, path, body) => {
          const a = await SEND[protocol](path, body);
          const what = `${protocol} ${path} ${Buffer.from(body).toString("hex")} -> ${a.http ?? ""} ${a.code} ${a.message}`;
          expect(a.http ?? 200, what).toBeLessThan(500);
          expect([grpc.status.INTERNAL, grpc.status.UNKNOWN, -1, Number.NaN], what).not.toContain(a.code);
          if (a.code === grpc.status.INVALID_ARGUMENT) expect(a.message, what).not.toMatch(/\n|\s+at |internal/i);
          const good = await SEND[protocol](CHECK, new Uint8Array());
          expect({ code: good.code, body: good.body }, `a good request after ${what}`).toStrictEqual({
            code: grpc.status.OK,
            body: SERVING,
          });
        },
      ),
      { numRuns: 300 },
    );
  }, 120_000);

  it("and afterwards each protocol still issues a token", async () => {
    const { clientId, clientSecret } = await server.createClient({ scopes: ["read"] });
    const request = toBinary(IssueTokenRequestSchema, create(IssueTokenRequestSchema, { clientId, clientSecret, scope: "read" }));
    for (const protocol of ["Connect", "gRPC", "gRPC-Web"] as const) {
      const a = await SEND[protocol](ISSUE, request);
      expect({ protocol, code: a.code, message: a.message }).toStrictEqual({ protocol, code: grpc.status.OK, message: "" });
      const token = fromBinary(IssueTokenResponseSchema, a.body);
      expect({ protocol, scope: token.scope, jwt: token.accessToken.split(".").length }).toStrictEqual({ protocol, scope: "read", jwt: 3 });
    }
  });
});
