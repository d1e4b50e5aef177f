import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { bearerInterceptor } from "../../src/client/bearer-interceptor.js";
import { TokenClient } from "../../src/client/token-client.js";
import { FakeEndpoint } from "./fake-endpoint.js";
import { FakeScheduler } from "./fake-scheduler.js";

/** An in-memory Health service that refuses the first `refusals` calls as UNAUTHENTICATED. */
function service(refusals: number, code = Code.Unauthenticated) {
  const seen: Array<string | null> = [];
  const transport = (interceptors: ReturnType<typeof bearerInterceptor>[]) =>
    createRouterTransport(
      ({ service: register }) =>
        register(Health, {
          check(_req, ctx) {
            seen.push(ctx.requestHeader.get("authorization"));
            if (refusals-- > 0) throw new ConnectError("token refused", code);
            return { status: 1 };
          },
        }),
      { transport: { interceptors } },
    );
  return { seen, transport };
}

function tokens() {
  const endpoint = new FakeEndpoint();
  return { endpoint, client: new TokenClient({ clientId: "c", clientSecret: "s", endpoint, scheduler: new FakeScheduler() }) };
}

describe("bearerInterceptor", () => {
  it("attaches the cached token to every call", async () => {
    const { client, endpoint } = tokens();
    const { seen, transport } = service(0);
    const health = createClient(Health, transport([client.interceptor({ scope: "read" })]));
    await health.check({});
    await health.check({});
    expect(seen).toEqual(["Bearer tok-1", "Bearer tok-1"]);
    expect(endpoint.requests[0]!.request.scope).toBe("read");
  });

  it("retries an UNAUTHENTICATED unary call once with a fresh token", async () => {
    const { client, endpoint } = tokens();
    const { seen, transport } = service(1);
    expect((await createClient(Health, transport([bearerInterceptor(client)])).check({})).status).toBe(1);
    expect(seen).toEqual(["Bearer tok-1", "Bearer tok-2"]);
    expect(endpoint.count).toBe(2);
  });

  it("gives up after the second UNAUTHENTICATED, and never retries other codes", async () => {
    for (const [code, calls] of [
      [Code.Unauthenticated, 2],
      [Code.PermissionDenied, 1],
      [Code.Unavailable, 1],
    ] as const) {
      const { client } = tokens();
      const { seen, transport } = service(5, code);
      const err = await createClient(Health, transport([bearerInterceptor(client)]))
        .check({})
        .catch((e: unknown) => e);
      expect(ConnectError.from(err).code).toBe(code);
      expect(seen).toHaveLength(calls);
    }
  });
});
