import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../../gen/grpc/health/v1/health_pb.js";
import { HealthState } from "../../../src/transport/grpc/health-state.js";
import { registerHealth } from "../../../src/transport/grpc/services/health-service.js";
import { eventually } from "../../helpers/eventually.js";

function setup() {
  const state = new HealthState();
  const client = createClient(
    Health,
    createRouterTransport((router) => registerHealth(router, state)),
  );
  return { state, client };
}

describe("HealthState", () => {
  it("starts with the whole server SERVING and nothing else known", () => {
    const state = new HealthState();
    expect(state.get("")).toBe(ServingStatus.SERVING);
    expect(state.get("tessera.v1.TokenService")).toBeUndefined();
  });

  it("watch yields the current status, then each change, and ends on abort", async () => {
    const state = new HealthState();
    const abort = new AbortController();
    const seen: ServingStatus[] = [];
    const done = (async () => {
      for await (const status of state.watch("svc", abort.signal)) seen.push(status);
    })();
    await eventually("the first status", () => seen.length === 1);
    state.set("svc", ServingStatus.SERVING);
    await eventually("the second status", () => seen.length === 2);
    state.set("svc", ServingStatus.SERVING); // unchanged: nothing to send
    state.set("svc", ServingStatus.NOT_SERVING);
    await eventually("the third status", () => seen.length === 3);
    // Aborting while the watch waits for the next change ends it at once.
    abort.abort();
    await done;
    expect(seen).toEqual([ServingStatus.SERVICE_UNKNOWN, ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    expect(state.watcherCount).toBe(0);
  });

  it("watch leaves nothing behind when its reader stops early", async () => {
    const state = new HealthState();
    for await (const status of state.watch("", new AbortController().signal)) {
      expect(status).toBe(ServingStatus.SERVING);
      break;
    }
    expect(state.watcherCount).toBe(0);
  });
});

describe("registerHealth", () => {
  it("Check answers SERVING for the whole server", async () => {
    const { client } = setup();
    expect((await client.check({ service: "" })).status).toBe(ServingStatus.SERVING);
  });

  it("Check answers the status set for a service", async () => {
    const { state, client } = setup();
    state.set("tessera.v1.TokenService", ServingStatus.NOT_SERVING);
    expect((await client.check({ service: "tessera.v1.TokenService" })).status).toBe(ServingStatus.NOT_SERVING);
  });

  it("Check fails with NotFound for an unknown service", async () => {
    const { client } = setup();
    const error = await client.check({ service: "nope.v1.Nope" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.NotFound);
    expect((error as ConnectError).rawMessage).toContain("nope.v1.Nope");
  });

  it("Watch sends the current status, then changes, and stops when the client aborts", async () => {
    const { state, client } = setup();
    const abort = new AbortController();
    const stream = client.watch({ service: "" }, { signal: abort.signal })[Symbol.asyncIterator]();

    expect((await stream.next()).value?.status).toBe(ServingStatus.SERVING);
    expect(state.watcherCount).toBe(1);
    state.set("", ServingStatus.NOT_SERVING);
    expect((await stream.next()).value?.status).toBe(ServingStatus.NOT_SERVING);

    abort.abort();
    const end = await stream.next().catch((e: unknown) => e);
    expect(ConnectError.from(end).code).toBe(Code.Canceled);
    // The server side has fully unwound the watch (its finally ran).
    await eventually("no watcher left", () => state.watcherCount === 0);
  });

  it("Watch of an unknown service sends SERVICE_UNKNOWN, stays open, and reports it once set", async () => {
    const { state, client } = setup();
    const abort = new AbortController();
    const stream = client.watch({ service: "later.v1.Service" }, { signal: abort.signal })[Symbol.asyncIterator]();

    expect((await stream.next()).value?.status).toBe(ServingStatus.SERVICE_UNKNOWN);
    state.set("later.v1.Service", ServingStatus.SERVING);
    expect((await stream.next()).value?.status).toBe(ServingStatus.SERVING);

    abort.abort();
    await stream.next().catch(() => undefined);
    // The server side has fully unwound the watch (its finally ran).
    await eventually("no watcher left", () => state.watcherCount === 0);
  });
});
