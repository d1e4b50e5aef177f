import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import type { DescMethod } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../../gen/grpc/health/v1/health_pb.js";
import { createRpcHandler } from "../../../src/transport/grpc/rpc-handler.js";

// The RPC handler on a real h2c port, with a Health service whose answers a test chooses: a
// response that cannot be serialised is a fault of the server (INTERNAL, logged once, its cause
// not sent), unlike a request that cannot be decoded (INVALID_ARGUMENT, reported as the
// caller's). Serialisation can only fail for a response the real services never build, hence
// this service.

const CHECK = "/grpc.health.v1.Health/Check";
/** What the next Check answers: a status (a string is no enum value protobuf can encode) or an error to throw. */
let answer: { status: number | string } | Error = { status: ServingStatus.SERVING };
const unexpected: unknown[] = [];
const unparsable: string[] = [];

let server: http2.Http2Server;
let session: http2.ClientHttp2Session;

beforeAll(async () => {
  const services = (router: ConnectRouter) =>
    router.service(Health, {
      check() {
        if (answer instanceof Error) throw answer;
        return answer as { status: number };
      },
    });
  const rpc = createRpcHandler({
    services,
    issuer: "http://tessera.test",
    maxMessageBytes: 65_536,
    maxDeadlineMs: 10_000,
    trustedProxies: new Set(),
    onUnexpected: (err) => unexpected.push(err),
    onUnparsable: (method: DescMethod) => unparsable.push(method.name),
    notFound: (res) => res.writeHead(404).end(),
  });
  server = http2.createServer(rpc.handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  session.on("error", () => {});
});
afterAll(async () => {
  session?.destroy();
  await new Promise((resolve) => server?.close(resolve));
});
beforeEach(() => {
  unexpected.length = 0;
  unparsable.length = 0;
});

interface Answer {
  status: number | undefined;
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  body: Buffer;
}

function post(contentType: string, body: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ":path": CHECK, "content-type": contentType, te: "trailers" });
    const out: Answer = { status: undefined, headers: {}, trailers: {}, body: Buffer.alloc(0) };
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      out.headers = h;
      out.status = h[":status"];
    });
    stream.on("trailers", (t) => (out.trailers = t));
    stream.on("data", (d: Buffer) => chunks.push(d));
    stream.on("error", reject);
    stream.on("close", () => resolve({ ...out, body: Buffer.concat(chunks) }));
    stream.end(body);
  });
}

const frame = (message: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, 0, message.length]), message]);
const EMPTY = Buffer.alloc(0);

/** The code and message each protocol answered, in one shape. */
const PROTOCOLS: [string, () => Promise<{ code: string; message: string }>][] = [
  [
    "Connect, protobuf",
    async () => {
      const a = await post("application/proto", EMPTY);
      return {
        code: `${a.status} ${(JSON.parse(a.body.toString()) as { code: string }).code}`,
        message: (JSON.parse(a.body.toString()) as { message: string }).message,
      };
    },
  ],
  [
    "Connect, JSON",
    async () => {
      const a = await post("application/json", Buffer.from("{}"));
      return {
        code: `${a.status} ${(JSON.parse(a.body.toString()) as { code: string }).code}`,
        message: (JSON.parse(a.body.toString()) as { message: string }).message,
      };
    },
  ],
  [
    "gRPC",
    async () => {
      const a = await post("application/grpc", frame(EMPTY));
      return {
        code: `grpc-status ${String(a.trailers["grpc-status"] ?? a.headers["grpc-status"])}`,
        message: decodeURIComponent(String(a.trailers["grpc-message"] ?? a.headers["grpc-message"])),
      };
    },
  ],
  [
    "gRPC-Web",
    async () => {
      const a = await post("application/grpc-web+proto", frame(EMPTY));
      const text = a.body.subarray(5).toString("latin1");
      const field = (name: string) => new RegExp(`^${name}: (.*)$`, "m").exec(text)?.[1]?.trim() ?? "";
      return { code: `grpc-status ${field("grpc-status")}`, message: decodeURIComponent(field("grpc-message")) };
    },
  ],
];
const INTERNAL: Record<string, string> = {
  "Connect, protobuf": "500 internal",
  "Connect, JSON": "500 internal",
  gRPC: "grpc-status 13",
  "gRPC-Web": "grpc-status 13",
};

describe("a response that cannot be serialised", () => {
  for (const [name, call] of PROTOCOLS) {
    it(`${name}: INTERNAL "internal error", logged once as a fault of the server`, async () => {
      answer = { status: "serving" };
      expect(await call()).toStrictEqual({ code: INTERNAL[name], message: "internal error" });
      expect(unexpected).toHaveLength(1);
      expect(String(unexpected[0])).toMatch(/cannot encode .*grpc\.health\.v1\.HealthCheckResponse/);
      expect(unparsable).toStrictEqual([]);
    });
  }
});

describe("an implementation that throws", () => {
  for (const [name, call] of PROTOCOLS) {
    it(`${name}: INTERNAL "internal error", logged once (by the error mapping, not again)`, async () => {
      answer = new Error("disk on fire");
      expect(await call()).toStrictEqual({ code: INTERNAL[name], message: "internal error" });
      expect(unexpected).toStrictEqual([answer]);
    });
  }
});

describe("a request that cannot be decoded, for contrast", () => {
  it("is the caller's INVALID_ARGUMENT, reported as unparsable and not as a fault", async () => {
    answer = { status: ServingStatus.SERVING };
    const a = await post("application/grpc", frame(Buffer.from([0x0a, 0x05, 0x61])));
    expect(a.trailers["grpc-status"] ?? a.headers["grpc-status"]).toBe("3");
    expect(decodeURIComponent(String(a.trailers["grpc-message"] ?? a.headers["grpc-message"]))).toBe(
      "the request is not a valid HealthCheckRequest (premature EOF)",
    );
    expect(unparsable).toStrictEqual(["Check"]);
    expect(unexpected).toStrictEqual([]);
  });

  it("while a well-formed one is answered as usual", async () => {
    answer = { status: ServingStatus.SERVING };
    const a = await post("application/grpc", frame(EMPTY));
    expect(a.trailers["grpc-status"]).toBe("0");
    expect(a.body).toStrictEqual(frame(Buffer.from([0x08, ServingStatus.SERVING])));
    expect([unexpected, unparsable]).toStrictEqual([[], []]);
  });
});
