import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientAdmin } from "../../gen/tessera/v1/client_admin_pb.js";
import { TokenError } from "../../src/client/errors.js";
import { TokenMetricsRecorder } from "../../src/client/metrics-recorder.js";
import { TokenClient } from "../../src/client/token-client.js";
import { verifyWithJwks } from "../helpers/jwks.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

let server: TestServer;
let creds: { clientId: string; clientSecret: string };
const AUD = "https://api.example.com";

beforeAll(async () => {
  server = await startTestServer();
  creds = await server.createClient({ scopes: ["read", "write"], audiences: [AUD, "https://other.example.com"] });
});
afterAll(() => server?.stop());

for (const transport of ["http", "grpc"] as const) {
  describe(`TokenClient against the real server over ${transport}`, () => {
    it("gets a token Tessera signed for the scope and audience asked, and caches it", async () => {
      const metrics = new TokenMetricsRecorder();
      const client = new TokenClient({ server: server.url, transport, ...creds, scope: "read", audience: AUD, metrics });
      const started = Date.now();
      const details = await client.getTokenDetails();
      expect(details.scope).toBe("read");
      expect(details.expiresAt).toBeGreaterThanOrEqual(started + 3_600_000);
      const { payload, protectedHeader } = await verifyWithJwks(server.url, details.accessToken, server.issuer, AUD);
      expect(protectedHeader.typ).toBe("at+jwt");
      expect(payload).toMatchObject({ sub: creds.clientId, scope: "read", aud: AUD });
      expect(await client.getToken()).toBe(details.accessToken);
      expect(metrics.snapshot()).toMatchObject({ requests: 1, successes: 1, cacheHits: 1 });
      await client.close();
    });

    it("makes one request for 100 concurrent callers", async () => {
      const metrics = new TokenMetricsRecorder();
      const client = new TokenClient({ server: server.url, transport, ...creds, metrics });
      const tokens = await Promise.all(Array.from({ length: 100 }, () => client.getToken({ scope: "write" })));
      expect(new Set(tokens).size).toBe(1);
      expect(metrics.snapshot().requests).toBe(1);
      await client.close();
    });

    it("fails a wrong secret once, with invalid_client and what to check", async () => {
      const metrics = new TokenMetricsRecorder();
      const client = new TokenClient({ server: server.url, transport, clientId: creds.clientId, clientSecret: "tsec_wrong", metrics });
      const err = (await client.getToken().catch((e: unknown) => e)) as TokenError;
      expect(err).toBeInstanceOf(TokenError);
      expect(err).toMatchObject({ code: "invalid_client", retryable: false, attempts: 1 });
      expect(err.message).toBe("Invalid client credentials. Check the clientId and clientSecret passed to TokenClient.");
      expect(metrics.snapshot()).toMatchObject({ requests: 1, failures: { invalid_client: 1 } });
      await client.close();
    });

    it("names where a wrong secret came from: CLIENT_SECRET, or CLIENT_SECRET_FILE with its path", async () => {
      const dir = mkdtempSync(join(tmpdir(), "tessera-secret-"));
      const file = join(dir, "client-secret");
      writeFileSync(file, "tsec_wrong\n");
      try {
        const fromEnv = new TokenClient({ server: server.url, transport, env: { CLIENT_ID: creds.clientId, CLIENT_SECRET: "tsec_wrong" } });
        const fromFile = new TokenClient({ server: server.url, transport, env: { CLIENT_ID: creds.clientId, CLIENT_SECRET_FILE: file } });
        expect(await fromEnv.getToken().catch((e: unknown) => (e as Error).message)).toBe(
          "Invalid client credentials. Check CLIENT_ID and CLIENT_SECRET.",
        );
        expect(await fromFile.getToken().catch((e: unknown) => (e as Error).message)).toBe(
          `Invalid client credentials. Check CLIENT_ID and the secret in CLIENT_SECRET_FILE (${file}).`,
        );
        await Promise.all([fromEnv.close(), fromFile.close()]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("fails a scope the client may not have with invalid_scope, not retried", async () => {
      const client = new TokenClient({ server: server.url, transport, ...creds });
      const err = (await client.getToken({ scope: "delete" }).catch((e: unknown) => e)) as TokenError;
      expect(err).toMatchObject({ code: "invalid_scope", attempts: 1 });
      expect(err.message).toBe(
        `Invalid scope requested: The scope 'delete' is not allowed for this client. Request only scopes the client is allowed.`,
      );
      await client.close();
    });

    it("takes credentials from CLIENT_ID / CLIENT_SECRET and the server from TESSERA_SERVER", async () => {
      const client = new TokenClient({
        transport,
        env: { TESSERA_SERVER: server.url, CLIENT_ID: creds.clientId, CLIENT_SECRET: creds.clientSecret },
      });
      const { payload } = await verifyWithJwks(server.url, await client.getToken(), server.issuer);
      expect(payload.client_id).toBe(creds.clientId);
      await client.close();
    });
  });
}

describe("bearerInterceptor against the real server", () => {
  it("lets a gRPC-native caller use ClientAdmin with a token from the SDK", async () => {
    const admin = await server.admin();
    const tokens = new TokenClient({ server: server.url, transport: "grpc", ...admin, scope: "tessera:admin" });
    const rpc = createClient(ClientAdmin, createGrpcTransport({ baseUrl: server.url, interceptors: [tokens.interceptor()] }));
    const { clients } = await rpc.listClients({ pageSize: 100 });
    expect(clients.map((c) => c.clientId)).toContain(creds.clientId);
    await tokens.close();
  });
});
