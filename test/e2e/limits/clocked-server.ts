import type * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { grpcClient } from "../../helpers/grpc-js.js";
import { startTestServer, type TestServer } from "../../helpers/test-server.js";

/** The real server on a fake clock, with a TokenService client and the form endpoint's URL. */
export interface ClockedServer {
  /** The server's clock, epoch ms: tests move it forward to refill buckets. */
  now: number;
  server: TestServer;
  tokens: grpc.Client;
  /** POST /oauth/token on the server. */
  url: string;
}

/**
 * For a describe block: starts the server with `env` before its tests and stops it after,
 * and moves the clock `stepMs` forward before each test, so every test starts with full
 * buckets. Read the fields inside tests (they are set once the server is up).
 */
export function useClockedServer(env: NodeJS.ProcessEnv, stepMs: number): ClockedServer {
  const t = { now: Date.parse("2026-11-26T12:00:00Z") } as ClockedServer;
  beforeAll(async () => {
    t.server = await startTestServer({ clock: () => t.now, env });
    t.tokens = grpcClient("TokenService", t.server.port);
    t.url = `${t.server.url}/oauth/token`;
  });
  afterAll(async () => {
    t.tokens?.close();
    await t.server?.stop();
  });
  beforeEach(() => {
    t.now += stepMs;
  });
  return t;
}
