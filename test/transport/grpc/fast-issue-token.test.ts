import type * as grpc from "@grpc/grpc-js";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grpcClient, type IssueTokenResponse, unary } from "../../helpers/grpc-js.js";
import { startTestServer, type TestServer } from "../../helpers/test-server.js";

// gRPC IssueToken is answered by the fast path (fast-issue-token.ts), which encodes the reply
// itself instead of going through connect-node. It must say what the token says: expires_in is
// the client's own token lifetime, whatever it is, as the Connect protocol (connect-node) and
// the form endpoint say it. grpc-js against the real server on port 0.

let server: TestServer;
let tokens: grpc.Client;

beforeAll(async () => {
  server = await startTestServer();
  tokens = grpcClient("TokenService", server.port);
});
afterAll(async () => {
  tokens?.close();
  await server?.stop();
});

/** IssueToken through the fast path (grpc-js speaks application/grpc), and through Connect JSON (connect-node). */
async function bothPaths(c: { clientId: string; clientSecret: string }) {
  const grpcReply = await unary<IssueTokenResponse>(tokens, "IssueToken", { client_id: c.clientId, client_secret: c.clientSecret });
  const res = await fetch(`${server.url}/tessera.v1.TokenService/IssueToken`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ clientId: c.clientId, clientSecret: c.clientSecret }),
  });
  expect(res.status).toBe(200);
  return { grpcReply, connectReply: (await res.json()) as { accessToken: string; expiresIn: number } };
}

describe("the gRPC fast path's expires_in", () => {
  for (const ttl of [60, 600, 86_400]) {
    it(`is the client's token lifetime (${ttl} s), equal to exp - iat of the token and to what connect-node answers`, async () => {
      const c = await server.createClient({ name: `ttl ${ttl}`, tokenTtlSeconds: ttl });
      const { grpcReply, connectReply } = await bothPaths(c);
      expect(grpcReply.token_type).toBe("Bearer");
      expect(grpcReply.expires_in).toBe(ttl);
      const claims = decodeJwt(grpcReply.access_token);
      expect(claims.exp! - claims.iat!).toBe(ttl);
      expect(connectReply.expiresIn).toBe(ttl);
    });
  }

  it("is 3600 for a client created without a lifetime", async () => {
    const c = await server.createClient({ name: "default ttl" });
    const { grpcReply, connectReply } = await bothPaths(c);
    expect(grpcReply.expires_in).toBe(3600);
    expect(connectReply.expiresIn).toBe(3600);
  });
});
