import { execFile } from "node:child_process";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { isMessage } from "@bufbuild/protobuf";
import type { Interceptor } from "@connectrpc/connect";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { connectNodeAdapter, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../../gen/grpc/health/v1/health_pb.js";
import { ServerReflectionRequestSchema as V1Request } from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflectionRequestSchema as V1alphaRequest } from "../../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { fileDescriptorSetBase64 } from "../../../gen/reflection_set.js";
import type { UpdateClientRequest } from "../../../gen/tessera/v1/client_admin_pb.js";
import { ClientAdmin } from "../../../gen/tessera/v1/client_admin_pb.js";
import { TokenService } from "../../../gen/tessera/v1/token_service_pb.js";
import { HealthState } from "../../../src/transport/grpc/health-state.js";
import { registerHealth } from "../../../src/transport/grpc/services/health-service.js";
import { registerReflection } from "../../../src/transport/grpc/services/reflection-service.js";
import { eventually } from "../../helpers/eventually.js";

// buf curl is a real gRPC reflection client (grpcurl is not packaged here): it
// downloads the schema by reflection, then encodes our JSON bodies with it.
const buf = fileURLToPath(new URL("../../../node_modules/.bin/buf", import.meta.url));

const V1 = "grpc.reflection.v1.ServerReflection";
const V1ALPHA = "grpc.reflection.v1alpha.ServerReflection";

const health = new HealthState();
// Every call that reaches the server, as "service/method", the decoded unary
// requests, and each reflection request as "kind:name".
let calls: string[] = [];
let requests: unknown[] = [];
let reflected: string[] = [];
// Plays an older server that only knows v1alpha, to see buf curl fall back.
let refuseV1 = false;

const record: Interceptor = (next) => async (req) => {
  calls.push(`${req.service.typeName}/${req.method.name}`);
  if (!req.stream) requests.push(req.message);
  if (refuseV1 && req.service.typeName === V1) throw new ConnectError("no v1 here", Code.Unimplemented);
  return req.stream ? next({ ...req, message: tap(req.message) }) : next(req);
};

async function* tap<T>(messages: AsyncIterable<T>): AsyncIterable<T> {
  for await (const m of messages) {
    if (isMessage(m, V1Request) || isMessage(m, V1alphaRequest)) {
      reflected.push(`${m.messageRequest.case}:${String(m.messageRequest.value)}`);
    }
    yield m;
  }
}

const server = http2.createServer(
  connectNodeAdapter({
    interceptors: [record],
    routes(router) {
      registerReflection(router, {
        services: ["tessera.v1.TokenService", "tessera.v1.ClientAdmin", "grpc.health.v1.Health", V1, V1ALPHA],
        fileDescriptorSetBase64,
      });
      registerHealth(router, health);
      router.service(TokenService, {});
      router.service(ClientAdmin, {});
    },
  }),
);
const sessions = new Set<http2.ServerHttp2Session>();
server.on("session", (session) => {
  sessions.add(session);
  session.on("close", () => sessions.delete(session));
});
let base = "";

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  // http2 close() waits for open sessions; the Go and Node clients may keep theirs idle.
  for (const session of sessions) session.destroy();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  calls = [];
  requests = [];
  reflected = [];
  refuseV1 = false;
});

interface CurlResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

// Resolves on any exit code: buf curl exits with the gRPC code << 3 when the RPC fails.
function bufCurl(...args: string[]): Promise<CurlResult> {
  const argv = ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args];
  return new Promise((resolve, reject) => {
    execFile(buf, argv, { timeout: 15_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== "number")
        reject(error); // spawn failure or timeout
      else resolve({ exitCode: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

const ourServices = ["grpc.health.v1.Health", "tessera.v1.ClientAdmin", "tessera.v1.TokenService"];

describe("gRPC reflection driven by buf curl over h2c", () => {
  it("lists the services, asking v1 first", async () => {
    const result = await bufCurl("--list-services", base);
    expect(result.exitCode, result.stderr).toBe(0);
    const listed = result.stdout.trim().split("\n");
    expect(listed).toEqual(expect.arrayContaining([...ourServices, V1, V1ALPHA]));
    expect(listed).toHaveLength(5);
    expect(calls).toEqual([`${V1}/ServerReflectionInfo`]);
  });

  it.each([
    ["grpc-v1", V1],
    ["grpc-v1alpha", V1ALPHA],
  ])("lists the services with --reflect-protocol %s", async (protocol, service) => {
    const result = await bufCurl("--reflect-protocol", protocol, "--list-services", base);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.trim().split("\n")).toEqual(expect.arrayContaining(ourServices));
    expect(calls).toEqual([`${service}/ServerReflectionInfo`]);
  });

  it("falls back to v1alpha when v1 is unimplemented", async () => {
    refuseV1 = true;
    const result = await bufCurl("--list-services", base);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.trim().split("\n")).toEqual(expect.arrayContaining(ourServices));
    expect(calls).toEqual([`${V1}/ServerReflectionInfo`, `${V1ALPHA}/ServerReflectionInfo`]);
  });

  it("lists every method, which resolves each service's file by symbol", async () => {
    const result = await bufCurl("--list-methods", base);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain("tessera.v1.ClientAdmin/RotateClientSecret");
    expect(result.stdout).toContain("tessera.v1.TokenService/IssueToken");
    expect(result.stdout).toContain("grpc.health.v1.Health/Watch");
  });

  it("calls Health.Check with a JSON body", async () => {
    const result = await bufCurl("--data", "{}", `${base}/grpc.health.v1.Health/Check`);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ status: "SERVING" });
    expect(reflected).toEqual(["fileContainingSymbol:grpc.health.v1.Health"]);
  });

  it.each(["grpc-v1", "grpc-v1alpha"])("calls ClientAdmin.GetClient by reflection (%s)", async (protocol) => {
    const result = await bufCurl("--reflect-protocol", protocol, "--data", '{"clientId":"x"}', `${base}/tessera.v1.ClientAdmin/GetClient`);
    // The empty implementation answers UNIMPLEMENTED (12 << 3); what matters is
    // that buf curl built the request from the reflected schema and sent it.
    expect(result.exitCode).toBe(12 << 3);
    expect(JSON.parse(result.stderr)).toEqual(expect.objectContaining({ code: "unimplemented" }));
    expect(calls).toContain("tessera.v1.ClientAdmin/GetClient");
    expect(requests).toEqual([expect.objectContaining({ clientId: "x" })]);
    // One answer held every file: buf curl would otherwise have asked for the
    // missing imports by file_by_filename (it tolerates servers that omit them).
    expect(reflected).toEqual(["fileContainingSymbol:tessera.v1.ClientAdmin"]);
  });

  it("encodes well-known types (Duration, Timestamp, FieldMask) from their JSON forms", async () => {
    const body = {
      client: { clientId: "x", tokenTtl: "60s", createTime: "2024-01-02T03:04:05Z" },
      updateMask: "tokenTtl,name",
    };
    const result = await bufCurl("--data", JSON.stringify(body), `${base}/tessera.v1.ClientAdmin/UpdateClient`);
    expect(result.exitCode, result.stderr).toBe(12 << 3);
    const [request] = requests as UpdateClientRequest[];
    expect(request?.client?.tokenTtl?.seconds).toBe(60n);
    expect(request?.client?.createTime?.seconds).toBe(BigInt(Date.parse("2024-01-02T03:04:05Z") / 1000));
    expect(request?.updateMask?.paths).toEqual(["token_ttl", "name"]);
  });
});

describe("gRPC health over h2c", () => {
  it("Watch ends on the server, listeners removed, when a real client cancels", async () => {
    const client = createClient(Health, createGrpcTransport({ baseUrl: base }));
    const abort = new AbortController();
    const stream = client.watch({ service: "" }, { signal: abort.signal })[Symbol.asyncIterator]();
    expect((await stream.next()).value?.status).toBe(ServingStatus.SERVING);
    // Over HTTP/2 the server pulls the next status at once and waits for a
    // change, so only the abort listener can end the watch.
    expect(health.watcherCount).toBe(1);
    abort.abort();
    await expect(stream.next()).rejects.toThrow(/abort/i);
    await eventually("the server to end the watch", () => health.watcherCount === 0);
  });
});
