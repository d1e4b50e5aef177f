import http2 from "node:http2";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { within } from "../../helpers/eventually.js";
import { httpRequest } from "../../helpers/http.js";
import { parseExposition, valueOf } from "../../helpers/ops-prometheus.js";
import { h2HangupMidBody, h2ResetMidBody } from "../../helpers/raw-h2.js";
import { bootstrap, type LogLine, startTessera, type TesseraProcess, tempDir } from "../../helpers/tessera-process.js";
import { connect, grpcFrame } from "../limits/wire.js";

// What anyone can do to the server from outside without credentials (abort uploads, send
// malformed gRPC) must not look like a server fault: no error-level line, no stack trace, no
// server_error in /metrics. Client aborts are counted as outcome "aborted" and malformed
// requests as invalid_request, at info level like every other request line. Checked on the
// real server's stdout, stderr and /metrics.

const ISSUE = "/tessera.v1.TokenService/IssueToken";
const GRPC_HEADERS = { "content-type": "application/grpc", te: "trailers" };
const GRPC = { ":method": "POST", ":path": ISSUE, ...GRPC_HEADERS };

let server: TesseraProcess;
let session: http2.ClientHttp2Session;

beforeAll(async () => {
  const db = join(tempDir("noise"), "tessera.db");
  await bootstrap(db);
  server = await startTessera({ db });
  session = http2.connect(server.url);
  session.on("error", () => {});
});
afterAll(async () => {
  session?.destroy();
  await server?.stop();
});

const requestLines = () => server.logs.filter((l) => l.msg === "token request");

/** Runs `act`, then waits for the one request line it produces and returns it. */
async function lineFor(act: () => Promise<void>): Promise<LogLine> {
  const before = requestLines().length;
  await act();
  return server.waitForLog((l) => l.msg === "token request" && requestLines().indexOf(l) >= before);
}

/** A client that gives up mid-upload: RST_STREAM(CANCEL) on a stream whose body is still open. */
const h2Abort = (path: string, headers: Record<string, string>, bytes: Buffer) => h2ResetMidBody(server.port, path, headers, bytes);

/** A client that closes its HTTP/2 connection mid-upload. */
const h2Hangup = (path: string, headers: Record<string, string>, bytes: Buffer) => h2HangupMidBody(server.port, path, headers, bytes);

/** Sends a whole raw gRPC request and returns the grpc-status it gets. */
function h2Grpc(body: Buffer, extra: http2.OutgoingHttpHeaders = {}): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ...GRPC, ...extra });
    let status: string | undefined;
    stream.on("response", (h) => (status ??= h["grpc-status"] as string | undefined));
    stream.on("trailers", (h) => (status ??= h["grpc-status"] as string | undefined));
    stream.on("error", reject);
    stream.on("close", () => resolve(status));
    stream.resume();
    stream.end(body);
  });
}

function expectQuiet(line: LogLine, outcome: string, error?: string): void {
  expect(line.level).toBe(30); // info
  expect(line.outcome).toBe(outcome);
  expect(line.error).toBe(error);
  expect(line.err).toBeUndefined();
  expect(JSON.stringify(line)).not.toMatch(/stack|    at /);
}

describe("client aborts are logged at info as aborted, never as server errors", () => {
  it("an HTTP/1.1 upload that announces 100 bytes and closes", async () => {
    const line = await lineFor(async () => {
      const socket = await connect(server.port);
      // 100 Continue comes once the server has handed the request to its handler.
      const accepted = new Promise((resolve) => socket.once("data", resolve));
      socket.write(
        "POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nExpect: 100-continue\r\nContent-Length: 100\r\n\r\ngrant_type=",
      );
      expect(String(await within("100 Continue", accepted))).toBe("HTTP/1.1 100 Continue\r\n\r\n");
      socket.destroy();
    });
    expectQuiet(line, "aborted");
    expect(line).toMatchObject({ transport: "http", endpoint: "token" });
  });

  it("an HTTP/2 upload to /oauth/token reset half-way, and one whose connection closes", async () => {
    const form = { "content-type": "application/x-www-form-urlencoded", "content-length": "100" };
    for (const act of [
      () => h2Abort("/oauth/token", form, Buffer.from("grant_type=")),
      () => h2Hangup("/oauth/token", form, Buffer.from("grant_type=")),
    ]) {
      const line = await lineFor(act);
      expectQuiet(line, "aborted");
      expect(line).toMatchObject({ transport: "http", endpoint: "token" });
    }
  });

  it("a gRPC IssueToken reset half-way, and one whose connection closes", async () => {
    const partial = Buffer.from([0, 0, 0, 0, 55, 0x0a, 3]);
    for (const act of [() => h2Abort(ISSUE, GRPC_HEADERS, partial), () => h2Hangup(ISSUE, GRPC_HEADERS, partial)]) {
      const line = await lineFor(act);
      expectQuiet(line, "aborted");
      expect(line).toMatchObject({ transport: "grpc", endpoint: "token" });
    }
  });

  it("a gRPC IssueToken whose own deadline passes before its body is complete", async () => {
    const line = await lineFor(async () => {
      const stream = session.request({ ...GRPC, "grpc-timeout": "200m" }, { endStream: false });
      stream.on("error", () => {});
      stream.resume();
      stream.write(Buffer.from([0, 0, 0, 0, 55]));
      await new Promise((resolve) => stream.on("close", resolve));
    });
    expectQuiet(line, "aborted");
  });
});

describe("malformed gRPC requests are invalid_request at info, answered as before", () => {
  const cases: [string, Buffer, http2.OutgoingHttpHeaders, string][] = [
    ["an incomplete envelope", Buffer.from([0, 0, 0, 0, 9, 1]), {}, "3"],
    ["a compressed flag without grpc-encoding", grpcFrame(Buffer.from([0x0a, 1, 0x78]), true), {}, "13"],
    ["bytes that are not an IssueTokenRequest", grpcFrame(Buffer.from([0xff, 0xff, 0xff])), {}, "3"],
    ["an invalid grpc-timeout", grpcFrame(Buffer.from([0x0a, 1, 0x78])), { "grpc-timeout": "soon" }, "3"],
  ];
  for (const [name, body, extra, status] of cases) {
    it(name, async () => {
      let got: string | undefined;
      const line = await lineFor(async () => {
        got = await h2Grpc(body, extra);
      });
      expect(got).toBe(status);
      expectQuiet(line, "error", "invalid_request");
    });
  }
});

describe("after all of that", () => {
  it("aborting a gRPC-Web or Connect upload (connect-node) leaves no trace of a fault either", async () => {
    await h2Abort(ISSUE, { "content-type": "application/grpc-web+proto" }, Buffer.from([0, 0, 0, 0, 55, 0x0a]));
    await h2Abort(ISSUE, { "content-type": "application/proto", "connect-protocol-version": "1" }, Buffer.from([0x0a]));
    await h2Hangup(ISSUE, { "content-type": "application/grpc-web+proto" }, Buffer.from([0, 0, 0, 0, 55, 0x0a]));
    // A request that completes afterwards on the same session proves the server moved on.
    expect(await h2Grpc(Buffer.from([0, 0, 0, 0, 9, 1]))).toBe("3");
  });

  it("the log has no error-level line and stderr is empty", () => {
    expect(server.logs.filter((l) => typeof l.level === "number" && l.level >= 50)).toStrictEqual([]);
    expect(server.output()).not.toMatch(/"level":(50|60)|\n\s+at /);
  });

  it("/metrics counts the aborts as aborted and the malformed requests as invalid_request, with no server_error", async () => {
    const e = parseExposition((await httpRequest("GET", `${server.url}/metrics`)).text);
    const count = (labels: Record<string, string>) => valueOf(e, "tessera_token_requests_total", labels);
    expect(count({ transport: "http", endpoint: "token", outcome: "aborted", error: "" })).toBe(3);
    expect(count({ transport: "grpc", endpoint: "token", outcome: "aborted", error: "" })).toBe(3);
    expect(count({ transport: "grpc", endpoint: "token", outcome: "error", error: "invalid_request" })).toBe(5);
    expect(e.samples.filter((s) => s.labels.error === "server_error")).toStrictEqual([]);
  });
});
