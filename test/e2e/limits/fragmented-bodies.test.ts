import http2 from "node:http2";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ListClientsRequestSchema } from "../../../gen/tessera/v1/client_admin_pb.js";
import { IssueTokenRequestSchema } from "../../../gen/tessera/v1/token_service_pb.js";
import { type FrameCountingProxy, frameCountingProxy, h2Fragmented, http1Chunked } from "../../helpers/fragmented.js";
import { httpRequest } from "../../helpers/http.js";
import { parseExposition, valueOf } from "../../helpers/ops-prometheus.js";
import { bootstrap, startTessera, type TesseraProcess, tempDir } from "../../helpers/tessera-process.js";
import { grpcFrame } from "./wire.js";

// A request body split into one-byte HTTP/2 DATA frames (or HTTP/1.1 chunks) must cost the
// server CPU in proportion to the bytes, on every door: the gRPC fast path, the connect-node
// path (gRPC-Web, Connect, ClientAdmin before authentication) and the form endpoint. Measured
// as the CPU time of the real server process (process.cpuUsage, read from its /metrics).
//
// Receiving a frame has a cost of its own (HTTP/2 parsing, a stream event): the form endpoint,
// which only collects the bytes, spends about 5 µs per one-byte frame here, while the same
// body in one frame costs well under a millisecond. So the checks are: 4x the frames cost at
// most 8x the CPU (linear is 4x, quadratic 16x), and no door spends more than 4x what the form
// endpoint spends on the same number of frames. Before the fix, 16,000 frames cost the gRPC
// fast path 3 s and gRPC-Web 2.3 s against 0.1 s for the form.

const SMALL = 4_000;
const LARGE = 16_000;

let server: TesseraProcess;
let proxy: FrameCountingProxy;
let session: http2.ClientHttp2Session;
let clientId: string;
let n = 0;

beforeAll(async () => {
  const db = join(tempDir("fragmented"), "tessera.db");
  clientId = (await bootstrap(db)).clientId;
  server = await startTessera({ db });
  proxy = await frameCountingProxy(server.port);
  session = http2.connect(`http://127.0.0.1:${proxy.port}`);
  session.on("error", () => {});
});
afterAll(async () => {
  session?.destroy();
  await proxy?.close();
  await server?.stop();
});

/** The server process's CPU time so far, seconds (user + system, from process.cpuUsage). */
async function serverCpu(): Promise<number> {
  const r = await httpRequest("GET", `${server.url}/metrics`);
  return valueOf(parseExposition(r.text), "tessera_process_cpu_seconds_total");
}

/** A wrong secret padded so the whole body is about `size` bytes; a fresh id each time, so no throttle kicks in. */
const secret = (size: number) => "s".repeat(size - 40);
const nextId = () => `${clientId}-${n++}`;
const issueToken = (size: number) =>
  Buffer.from(toBinary(IssueTokenRequestSchema, create(IssueTokenRequestSchema, { clientId: nextId(), clientSecret: secret(size) })));

interface Door {
  name: string;
  headers: http2.OutgoingHttpHeaders;
  body: (size: number) => Buffer;
  /** The answer it must still give: HTTP status and, for gRPC, grpc-status. */
  expected: { status: number; grpcStatus?: string };
}

const ISSUE = "/tessera.v1.TokenService/IssueToken";
const DOORS: Door[] = [
  {
    name: "gRPC IssueToken (fast path)",
    headers: { ":path": ISSUE, "content-type": "application/grpc", te: "trailers" },
    body: (size) => grpcFrame(issueToken(size)),
    expected: { status: 200, grpcStatus: "16" },
  },
  {
    name: "gRPC-Web IssueToken (connect-node)",
    headers: { ":path": ISSUE, "content-type": "application/grpc-web+proto" },
    body: (size) => grpcFrame(issueToken(size)),
    expected: { status: 200, grpcStatus: "16" },
  },
  {
    name: "Connect IssueToken (connect-node, unary)",
    headers: { ":path": ISSUE, "content-type": "application/proto", "connect-protocol-version": "1" },
    body: (size) => issueToken(size),
    expected: { status: 401 },
  },
  {
    name: "gRPC ClientAdmin/ListClients before authentication (connect-node)",
    headers: { ":path": "/tessera.v1.ClientAdmin/ListClients", "content-type": "application/grpc", te: "trailers" },
    body: (size) => grpcFrame(toBinary(ListClientsRequestSchema, create(ListClientsRequestSchema, { pageToken: "p".repeat(size - 10) }))),
    expected: { status: 200, grpcStatus: "16" },
  },
  {
    name: "POST /oauth/token over h2c",
    headers: { ":path": "/oauth/token", "content-type": "application/x-www-form-urlencoded" },
    body: (size) =>
      Buffer.from(new URLSearchParams({ grant_type: "client_credentials", client_id: nextId(), client_secret: secret(size) }).toString()),
    expected: { status: 401 },
  },
];

/** Server CPU seconds for one request through `door`, its body of about `size` bytes sent in one frame or one byte per frame. */
async function cpuFor(door: Door, size: number, oneByteFrames: boolean): Promise<number> {
  const body = door.body(size);
  const before = await serverCpu();
  proxy.reset();
  const answer = await h2Fragmented(session, door.headers, body, oneByteFrames);
  const frames = [...proxy.dataFrames];
  const used = (await serverCpu()) - before;
  expect(answer).toStrictEqual({ status: door.expected.status, grpcStatus: door.expected.grpcStatus });
  // On the wire: one frame per byte (and an empty frame that ends the stream), or the whole body at once.
  if (oneByteFrames) {
    expect(frames.filter((f) => f === 1).length).toBe(body.length);
    expect(frames.every((f) => f <= 1)).toBe(true);
  } else {
    expect(frames).toStrictEqual([body.length]);
  }
  return used;
}

describe("a body split into one-byte DATA frames costs linear CPU on every door", () => {
  /** What the form endpoint spends on LARGE frames beyond the same body in one frame: the reference. */
  let formFrames: number;
  beforeAll(async () => {
    const form = DOORS.find((d) => d.headers[":path"] === "/oauth/token")!;
    await cpuFor(form, 500, true);
    formFrames = (await cpuFor(form, LARGE, true)) - (await cpuFor(form, LARGE, false));
  }, 120_000);

  for (const door of DOORS) {
    it(door.name, async () => {
      await cpuFor(door, 500, true); // warm up this code path (JIT), so the measurements compare like with like
      const whole = await cpuFor(door, LARGE, false);
      const small = await cpuFor(door, SMALL, true);
      const large = await cpuFor(door, LARGE, true);
      const seen = `one frame: ${whole}s, ${SMALL} frames: ${small}s, ${LARGE} frames: ${large}s, the form endpoint's ${LARGE} frames: ${formFrames}s`;
      expect(large, seen).toBeLessThan(8 * small);
      expect(large - whole, seen).toBeLessThan(4 * formFrames);
    }, 120_000);
  }
});

describe("over HTTP/1.1, one byte per chunk", () => {
  it("gRPC-Web and Connect requests cost linear CPU too", async () => {
    const cases = [
      { path: ISSUE, type: "application/grpc-web+proto", body: (size: number) => grpcFrame(issueToken(size)), status: 200 },
      { path: ISSUE, type: "application/proto", body: (size: number) => issueToken(size), status: 401 },
    ];
    for (const c of cases) {
      await http1Chunked(server.port, c.path, c.type, c.body(500), true);
      const cpu = async (size: number) => {
        const before = await serverCpu();
        expect(await http1Chunked(server.port, c.path, c.type, c.body(size), true)).toBe(c.status);
        return (await serverCpu()) - before;
      };
      const small = await cpu(SMALL);
      const large = await cpu(LARGE);
      expect(large, `${c.type}: ${SMALL} chunks: ${small}s, ${LARGE} chunks: ${large}s`).toBeLessThan(8 * small);
    }
  }, 120_000);
});
