import http2 from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it, vi } from "vitest";
import { TokenService } from "../../gen/tessera/v1/token_service_pb.js";
import { TokenMetricsRecorder } from "../../src/client/metrics-recorder.js";
import { TokenClient } from "../../src/client/token-client.js";
import { startStubTokenServer } from "../helpers/stub-token-server.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// The retry policy is the same whichever transport carries the token request: the server's
// Retry-After (an HTTP header, a gRPC trailer) is a floor under the backoff, and a connection
// lost before the answer (socket closed, GOAWAY) is a retryable network_error on both.

vi.setConfig({ testTimeout: 30_000 });

/** Metrics that also keep when each request started. */
class TimedMetrics extends TokenMetricsRecorder {
  readonly startedAt: number[] = [];
  override requestStarted(): void {
    this.startedAt.push(Date.now());
    super.requestStarted();
  }
}

/** A logger that keeps the retry waits the client announced. */
function retryLog() {
  const waits: number[] = [];
  return {
    waits,
    warn: (obj: object) =>
      void (typeof (obj as { retry_in_ms?: number }).retry_in_ms === "number" && waits.push((obj as { retry_in_ms: number }).retry_in_ms)),
  };
}

describe("Retry-After from the real server's rate limit", () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  for (const transport of ["http", "grpc"] as const) {
    it(`over ${transport}: waits the server's Retry-After (1 s) before trying again, and then succeeds`, async () => {
      // One token per second per client, no burst: the second request in a row is refused with Retry-After: 1.
      server = await startTestServer({ env: { TESSERA_CLIENT_RPS: "1", TESSERA_CLIENT_BURST: "1" } });
      const creds = await server.createClient({ scopes: ["read"] });
      const metrics = new TimedMetrics();
      const logger = retryLog();
      const client = new TokenClient({
        server: server.url,
        transport,
        ...creds,
        logger,
        // Jitter 0: without the server's hint, every retry would follow at once.
        random: () => 0,
        metrics,
      });
      await client.getToken();
      client.invalidate();
      const second = await client.getToken().catch((e: unknown) => e);
      expect(typeof second).toBe("string");
      expect(logger.waits).toEqual([1_000]);
      expect(metrics.snapshot()).toMatchObject({ requests: 3, successes: 2, failures: { temporarily_unavailable: 1 } });
      // A lower bound only: the retry came no sooner than the server asked.
      expect(metrics.startedAt[2]! - metrics.startedAt[1]!).toBeGreaterThanOrEqual(990);
      await client.close();
    });
  }
});

/** A small real gRPC server whose first IssueToken call loses its connection (`how`), then answers. */
async function flakyGrpcServer(how: "socket-close" | "goaway") {
  const routes = (router: ConnectRouter) =>
    router.service(TokenService, { issueToken: () => ({ accessToken: "grpc-token", tokenType: "Bearer", expiresIn: 3600, scope: "" }) });
  const adapter = connectNodeAdapter({ routes });
  const sockets: Socket[] = [];
  let calls = 0;
  const server = http2.createServer((req, res) => {
    calls++;
    if (calls > 1) return adapter(req, res);
    // The call has arrived; the connection goes away before any answer.
    if (how === "socket-close") sockets.at(-1)!.destroy();
    else {
      req.stream.session!.goaway(http2.constants.NGHTTP2_NO_ERROR, 0);
      req.stream.session!.destroy();
    }
  });
  server.on("connection", (s: Socket) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get calls() {
      return calls;
    },
    close: () => new Promise<void>((r) => (sockets.forEach((s) => s.destroy()), server.close(() => r()))),
  };
}

describe("a connection lost in the middle of a token request is retried on both transports", () => {
  it("over http: the server drops the connection, then answers", async () => {
    const stub = await startStubTokenServer(["drop", "token"]);
    const metrics = new TokenMetricsRecorder();
    const client = new TokenClient({ server: stub.url, clientId: "c", clientSecret: "s", metrics });
    try {
      expect(await client.getToken()).toBe("stub-token-2");
      expect(metrics.snapshot()).toMatchObject({ requests: 2, failures: { network_error: 1 } });
    } finally {
      await client.close();
      await stub.close();
    }
  });

  for (const how of ["socket-close", "goaway"] as const) {
    it(`over grpc: ${how === "goaway" ? "the server sends GOAWAY and closes" : "the server closes the socket"}, then answers`, async () => {
      const flaky = await flakyGrpcServer(how);
      const metrics = new TokenMetricsRecorder();
      const client = new TokenClient({ server: flaky.url, transport: "grpc", clientId: "c", clientSecret: "s", metrics });
      try {
        expect(await client.getToken()).toBe("grpc-token");
        expect(flaky.calls).toBe(2);
        expect(metrics.snapshot()).toMatchObject({ requests: 2, failures: { network_error: 1 } });
      } finally {
        await client.close();
        await flaky.close();
      }
    });
  }
});
