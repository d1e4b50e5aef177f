import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { Health, HealthCheckResponse_ServingStatus as Serving } from "../../gen/grpc/health/v1/health_pb.js";
import { TokenClient } from "../../src/client/token-client.js";
import { accessTokenClaimsKey, accessTokenInterceptor } from "../../src/verify/connect-interceptor.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const AUD = "https://inventory.example.com";
let tessera: TestServer;
let creds: { clientId: string; clientSecret: string };
let baseUrl: string;
let service: http2.Http2Server;
const seenCallers: string[] = [];

// A gRPC service protected by the interceptor: Check needs "read", Watch would need "admin".
beforeAll(async () => {
  tessera = await startTestServer();
  creds = await tessera.createClient({ scopes: ["read", "write"], audiences: [AUD] });
  const guard = accessTokenInterceptor({
    issuer: tessera.issuer,
    audience: AUD,
    jwksUri: `${tessera.url}/.well-known/jwks.json`,
    scopes: (method) => (method.name === "Check" ? ["read"] : ["admin"]),
  });
  service = http2.createServer(
    connectNodeAdapter({
      interceptors: [guard],
      routes: (router) =>
        router.service(Health, {
          check(req, ctx) {
            seenCallers.push(ctx.values.get(accessTokenClaimsKey)!.clientId);
            return { status: req.service === "" ? Serving.SERVING : Serving.UNKNOWN };
          },
          async *watch() {
            yield { status: Serving.SERVING };
          },
        }),
    }),
  );
  await new Promise<void>((r) => service.listen(0, "127.0.0.1", r));
  baseUrl = `http://127.0.0.1:${(service.address() as AddressInfo).port}`;
});
afterAll(async () => {
  service?.close();
  await tessera?.stop();
});

function healthClient(interceptors: Interceptor[] = []) {
  return createClient(Health, createGrpcTransport({ baseUrl, interceptors }));
}

async function failure(
  p: Promise<unknown>,
): Promise<{ code: Code; reason?: string | undefined; scope?: string | undefined; challenge: string | null }> {
  const err = ConnectError.from(
    await p.then(
      () => new Error("unexpectedly succeeded"),
      (e: unknown) => e,
    ),
  );
  const info = err.findDetails(ErrorInfoSchema)[0];
  return { code: err.code, reason: info?.reason, scope: info?.metadata.scope, challenge: err.metadata.get("www-authenticate") };
}

describe("accessTokenInterceptor on a real gRPC server", () => {
  it("accepts a token from Tessera (fetched over gRPC) and puts the claims in the context", async () => {
    const tokens = new TokenClient({ server: tessera.url, transport: "grpc", ...creds, audience: AUD, scope: "read" });
    expect((await healthClient([tokens.interceptor()]).check({})).status).toBe(Serving.SERVING);
    expect(seenCallers.at(-1)).toBe(creds.clientId);
    await tokens.close();
  });

  it("answers UNAUTHENTICATED without a token, reason missing_token and a bare challenge", async () => {
    expect(await failure(healthClient().check({}))).toEqual({
      code: Code.Unauthenticated,
      reason: "missing_token",
      scope: undefined,
      challenge: `Bearer realm="${AUD}"`,
    });
  });

  it("answers UNAUTHENTICATED invalid_token for a token meant for another audience", async () => {
    const other = await tessera.createClient({ scopes: ["read"], audiences: ["https://elsewhere.example.com"] });
    const wrong = new TokenClient({ server: tessera.url, ...other });
    const f = await failure(healthClient([wrong.interceptor()]).check({}));
    expect(f).toMatchObject({ code: Code.Unauthenticated, reason: "invalid_token" });
    expect(f.challenge).toContain('error="invalid_token"');
    await wrong.close();
  });

  it("answers PERMISSION_DENIED insufficient_scope with the scope needed", async () => {
    const tokens = new TokenClient({ server: tessera.url, ...creds, audience: AUD, scope: "read" });
    const watch = async () => {
      for await (const _ of healthClient([tokens.interceptor()]).watch({})) return;
    };
    expect(await failure(watch())).toMatchObject({ code: Code.PermissionDenied, reason: "insufficient_scope", scope: "admin" });
    await tokens.close();
  });
});
