import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failure, grpcClient, type IssueTokenResponse, unary } from "../../helpers/grpc-js.js";
import { verifyWithJwks } from "../../helpers/jwks.js";
import { basic, startTestServer, type TestServer } from "../../helpers/test-server.js";

let server: TestServer;
let client: grpc.Client;
let creds: { clientId: string; clientSecret: string };

beforeAll(async () => {
  server = await startTestServer();
  client = grpcClient("TokenService", server.port);
  creds = await server.createClient({ scopes: ["read", "write"], audiences: ["https://api.example.com", "https://b.example.com"] });
});
afterAll(async () => {
  client?.close();
  await server?.stop();
});

describe("TokenService.IssueToken over gRPC (grpc-js client)", () => {
  it("issues a token for credentials in the request fields, same fields as the OAuth JSON", async () => {
    const res = await unary<IssueTokenResponse>(client, "IssueToken", {
      client_id: creds.clientId,
      client_secret: creds.clientSecret,
      scope: "read",
    });
    expect(res.token_type).toBe("Bearer");
    expect(res.expires_in).toBe(3600);
    expect(res.scope).toBe("read");
    const { payload, protectedHeader } = await verifyWithJwks(server.url, res.access_token, server.issuer);
    expect(protectedHeader.typ).toBe("at+jwt");
    expect(payload.sub).toBe(creds.clientId);
    expect(payload.client_id).toBe(creds.clientId);
    expect(payload.scope).toBe("read");
    expect(payload.aud).toEqual(["https://api.example.com", "https://b.example.com"]);
  });

  it("accepts Basic credentials in the authorization metadata", async () => {
    const res = await unary<IssueTokenResponse>(
      client,
      "IssueToken",
      { audience: ["https://b.example.com"] },
      { authorization: basic(creds.clientId, creds.clientSecret) },
    );
    expect(res.scope).toBe("read write");
    const { payload } = await verifyWithJwks(server.url, res.access_token, server.issuer, "https://b.example.com");
    expect(payload.aud).toBe("https://b.example.com");
  });

  it("maps invalid_client to UNAUTHENTICATED with the OAuth code as ErrorInfo reason, same for unknown and wrong", async () => {
    const wrong = await failure(unary(client, "IssueToken", { client_id: creds.clientId, client_secret: "tsec_wrong" }));
    const unknown = await failure(unary(client, "IssueToken", { client_id: "nobody", client_secret: "tsec_wrong" }));
    for (const f of [wrong, unknown]) {
      expect(f.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(f.reason).toBe("invalid_client");
      expect(f.details).toBe("Client authentication failed");
    }
    const none = await failure(unary(client, "IssueToken", {}));
    expect(none).toMatchObject({ code: grpc.status.UNAUTHENTICATED, reason: "invalid_client" });
  });

  it("maps invalid_scope and invalid_target to INVALID_ARGUMENT", async () => {
    const scope = await failure(
      unary(client, "IssueToken", { client_id: creds.clientId, client_secret: creds.clientSecret, scope: "read admin" }),
    );
    expect(scope).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, reason: "invalid_scope" });
    expect(scope.details).toContain("'admin'");
    const target = await failure(
      unary(client, "IssueToken", { client_id: creds.clientId, client_secret: creds.clientSecret, audience: ["https://evil.example"] }),
    );
    expect(target).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, reason: "invalid_target" });
  });

  it("refuses two authentication methods in one call as invalid_request", async () => {
    const f = await failure(
      unary(
        client,
        "IssueToken",
        { client_id: creds.clientId, client_secret: creds.clientSecret },
        { authorization: basic(creds.clientId, creds.clientSecret) },
      ),
    );
    expect(f).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, reason: "invalid_request" });
  });

  it("refuses malformed Basic metadata as invalid_request", async () => {
    const f = await failure(unary(client, "IssueToken", {}, { authorization: "Basic !!!" }));
    expect(f).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, reason: "invalid_request" });
  });

  it("makes the same decision as POST /oauth/token for the same input", async () => {
    const form = await fetch(`${server.url}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: creds.clientId,
        client_secret: creds.clientSecret,
        scope: "delete",
      }),
    });
    expect(form.status).toBe(400);
    const body = (await form.json()) as { error: string; error_description: string };
    const f = await failure(unary(client, "IssueToken", { client_id: creds.clientId, client_secret: creds.clientSecret, scope: "delete" }));
    expect(f.reason).toBe(body.error);
    expect(f.details).toBe(body.error_description);
  });
});
