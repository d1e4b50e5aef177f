import { createClient } from "@connectrpc/connect";
import { compressionGzip, createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenService } from "../../../gen/tessera/v1/token_service_pb.js";
import { verifyWithJwks } from "../../helpers/jwks.js";
import { startTestServer, type TestServer } from "../../helpers/test-server.js";

let server: TestServer;
let creds: { clientId: string; clientSecret: string };

beforeAll(async () => {
  server = await startTestServer();
  creds = await server.createClient({ scopes: ["read"] });
});
afterAll(async () => server?.stop());

describe("the same port serves Connect and gRPC-Web besides gRPC", () => {
  it("Connect JSON over plain HTTP/1.1 POST, as curl would send it", async () => {
    const res = await fetch(`${server.url}/tessera.v1.TokenService/IssueToken`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ clientId: creds.clientId, clientSecret: creds.clientSecret }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { accessToken: string; tokenType: string; expiresIn: number; scope: string };
    expect(body).toMatchObject({ tokenType: "Bearer", expiresIn: 3600, scope: "read" });
    await verifyWithJwks(server.url, body.accessToken, server.issuer);
  });

  it("Connect errors over HTTP/1.1 carry the code and the ErrorInfo reason", async () => {
    const res = await fetch(`${server.url}/tessera.v1.TokenService/IssueToken`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ clientId: creds.clientId, clientSecret: "wrong" }),
    });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { code: string; message: string; details: { type: string; debug?: { reason: string } }[] };
    expect(body.code).toBe("unauthenticated");
    expect(body.details[0]?.type).toBe("google.rpc.ErrorInfo");
  });

  for (const [name, transport] of [
    ["Connect binary over HTTP/2 (h2c)", () => createConnectTransport({ baseUrl: server.url, httpVersion: "2" })],
    ["Connect over HTTP/1.1", () => createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" })],
    ["gRPC-Web over HTTP/1.1", () => createGrpcWebTransport({ baseUrl: server.url, httpVersion: "1.1" })],
    ["gRPC-Web over HTTP/2 (h2c)", () => createGrpcWebTransport({ baseUrl: server.url, httpVersion: "2" })],
    // Plain gRPC IssueToken takes the fast path; a compressed one falls through to connect-node.
    [
      "gRPC with gzip-compressed messages (connect-node path)",
      () => createGrpcTransport({ baseUrl: server.url, sendCompression: compressionGzip, compressMinBytes: 1 }),
    ],
    ["gRPC, plain (fast path)", () => createGrpcTransport({ baseUrl: server.url })],
  ] as const) {
    it(`${name}: IssueToken works`, async () => {
      const client = createClient(TokenService, transport());
      const res = await client.issueToken({ clientId: creds.clientId, clientSecret: creds.clientSecret });
      expect(res.tokenType).toBe("Bearer");
      const { payload } = await verifyWithJwks(server.url, res.accessToken, server.issuer);
      expect(payload.sub).toBe(creds.clientId);
    });
  }
});
