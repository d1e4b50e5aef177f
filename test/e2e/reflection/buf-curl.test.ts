import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { fromBinary } from "@bufbuild/protobuf";
import { type FileDescriptorProto, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServerReflection } from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import { verifyWithJwks } from "../../helpers/jwks.js";
import { startTestServer, type TestServer } from "../../helpers/test-server.js";

// `buf curl` is a real gRPC reflection client (grpcurl is not packaged here). It is given no
// .proto files: every request and response is encoded from what reflection serves.
const BUF = fileURLToPath(new URL("../../../node_modules/.bin/buf", import.meta.url));
const CLIENT_ADMIN_PROTO = fileURLToPath(new URL("../../../proto/tessera/v1/client_admin.proto", import.meta.url));

interface BufResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

let server: TestServer;

/** Runs `buf curl --protocol grpc --http2-prior-knowledge ARGS`; never throws on a non-zero exit. */
function bufCurl(args: string[]): Promise<BufResult> {
  return new Promise((resolve, reject) => {
    execFile(
      BUF,
      ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args],
      { timeout: 20_000, env: { ...process.env, NO_COLOR: "1" } },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== "number")
          reject(err); // spawn failure or timeout
        else resolve({ exitCode: err ? (err.code as number) : 0, stdout, stderr });
      },
    );
  });
}

/** Calls `/service/method` with a JSON body; returns the JSON response, failing on a non-zero exit. */
async function call<T>(method: string, body: object, headers: string[] = []): Promise<T> {
  const res = await bufCurl(["-d", JSON.stringify(body), ...headers.flatMap((h) => ["-H", h]), `${server.url}/${method}`]);
  if (res.exitCode !== 0) throw new Error(`buf curl ${method} exited ${res.exitCode}: ${res.stderr}`);
  return JSON.parse(res.stdout) as T;
}

interface TokenJson {
  accessToken: string;
  tokenType: string;
  expiresIn: number;
  scope: string;
}

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

describe("buf curl through server reflection (no .proto files at hand)", () => {
  it("--list-services lists the Tessera services and health", async () => {
    const res = await bufCurl(["--list-services", server.url]);
    expect(res.exitCode, res.stderr).toBe(0);
    const services = res.stdout.trim().split("\n");
    expect(services).toEqual(expect.arrayContaining(["tessera.v1.TokenService", "tessera.v1.ClientAdmin", "grpc.health.v1.Health"]));
  });

  it("TokenService.IssueToken with a JSON body returns a token that verifies against the JWKS", async () => {
    const c = await server.createClient({ scopes: ["read", "write"] });
    const res = await call<TokenJson>("tessera.v1.TokenService/IssueToken", {
      clientId: c.clientId,
      clientSecret: c.clientSecret,
      scope: "read",
    });
    expect(res).toMatchObject({ tokenType: "Bearer", expiresIn: 3600, scope: "read" });
    const { payload } = await verifyWithJwks(server.url, res.accessToken, server.issuer);
    expect(payload).toMatchObject({ sub: c.clientId, scope: "read" });
  });

  it("ClientAdmin.CreateClient with a Duration (tokenTtl) and a Bearer header works; its secret obtains tokens", async () => {
    const a = await server.admin();
    const admin = await call<TokenJson>("tessera.v1.TokenService/IssueToken", {
      clientId: a.clientId,
      clientSecret: a.clientSecret,
      scope: "tessera:admin",
    });
    const created = await call<{ client: { clientId: string; name: string; tokenTtl: string; createTime: string }; clientSecret: string }>(
      "tessera.v1.ClientAdmin/CreateClient",
      { name: "from-buf-curl", scopes: ["read"], tokenTtl: "600s" },
      [`authorization: Bearer ${admin.accessToken}`],
    );
    expect(created.clientSecret).toMatch(/^tsec_/);
    expect(created.client).toMatchObject({ name: "from-buf-curl", tokenTtl: "600s" });
    // A google.protobuf.Timestamp, resolved through reflection, prints as RFC 3339.
    expect(created.client.createTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);

    const t = await call<TokenJson>("tessera.v1.TokenService/IssueToken", {
      clientId: created.client.clientId,
      clientSecret: created.clientSecret,
    });
    expect(t).toMatchObject({ tokenType: "Bearer", expiresIn: 600, scope: "read" });
    await verifyWithJwks(server.url, t.accessToken, server.issuer);
  });

  it("ClientAdmin.CreateClient without the authorization header fails with unauthenticated", async () => {
    const res = await bufCurl([
      "-d",
      JSON.stringify({ name: "nope", tokenTtl: "600s" }),
      `${server.url}/tessera.v1.ClientAdmin/CreateClient`,
    ]);
    expect(res.exitCode).not.toBe(0);
    expect(res.stdout).toBe("");
    const err = JSON.parse(res.stderr) as { code: string; message: string };
    expect(err.code).toBe("unauthenticated");
  });

  it("a wrong secret fails with unauthenticated and a google.rpc.ErrorInfo detail", async () => {
    const c = await server.createClient();
    const res = await bufCurl([
      "-d",
      JSON.stringify({ clientId: c.clientId, clientSecret: "tsec_wrong" }),
      `${server.url}/tessera.v1.TokenService/IssueToken`,
    ]);
    expect(res.exitCode).not.toBe(0);
    const err = JSON.parse(res.stderr) as { code: string; message: string; details?: { type: string }[] };
    expect(err).toMatchObject({ code: "unauthenticated", message: "Client authentication failed" });
    expect(err.details?.map((d) => d.type)).toEqual(["google.rpc.ErrorInfo"]);
  });

  it("grpc.health.v1.Health/Check returns SERVING", async () => {
    const res = await call<{ status: string }>("grpc.health.v1.Health/Check", {});
    expect(res).toEqual({ status: "SERVING" });
  });
});

/** The `//` comment block right above `service ClientAdmin {`, as protoc records it in source_code_info. */
function clientAdminServiceComment(): string {
  const lines = readFileSync(CLIENT_ADMIN_PROTO, "utf8").split("\n");
  const at = lines.findIndex((l) => l.startsWith("service ClientAdmin "));
  let start = at;
  while (start > 0 && lines[start - 1]!.startsWith("//")) start--;
  expect(at - start).toBeGreaterThan(0);
  return lines
    .slice(start, at)
    .map((l) => `${l.slice(2)}\n`)
    .join("");
}

describe("grpc.reflection.v1 stream (connect-node gRPC client)", () => {
  it("file_containing_symbol tessera.v1.ClientAdmin serves the file with its comments and its well-known imports", async () => {
    // connect-node v2's gRPC transport always speaks HTTP/2 (h2c here): it has no httpVersion option.
    const transport = createGrpcTransport({ baseUrl: server.url });
    const reflection = createClient(ServerReflection, transport);
    async function* requests() {
      yield { messageRequest: { case: "fileContainingSymbol" as const, value: "tessera.v1.ClientAdmin" } };
    }
    const files: FileDescriptorProto[] = [];
    for await (const res of reflection.serverReflectionInfo(requests(), { timeoutMs: 10_000 })) {
      expect(res.messageResponse.case).toBe("fileDescriptorResponse");
      if (res.messageResponse.case === "fileDescriptorResponse") {
        for (const bytes of res.messageResponse.value.fileDescriptorProto) files.push(fromBinary(FileDescriptorProtoSchema, bytes));
      }
    }

    const first = files[0]!;
    expect(first.name).toBe("tessera/v1/client_admin.proto");
    expect(first.dependency).toEqual(
      expect.arrayContaining(["google/protobuf/timestamp.proto", "google/protobuf/duration.proto", "google/protobuf/field_mask.proto"]),
    );
    const names = files.map((f) => f.name);
    expect(names).toContain("google/protobuf/timestamp.proto");
    expect(names).toContain("google/protobuf/duration.proto");
    expect(names).toContain("google/protobuf/field_mask.proto");
    expect(new Set(names).size).toBe(names.length);

    // source_code_info path [6, 0] is the first service of the file (FileDescriptorProto.service = 6).
    const locations = first.sourceCodeInfo?.location ?? [];
    const service = locations.find((l) => l.path.length === 2 && l.path[0] === 6 && l.path[1] === 0);
    expect(service?.leadingComments).toBe(clientAdminServiceComment());
    expect(service?.leadingComments).toContain("ClientAdmin manages the OAuth clients");
    // ...and a method's comment: [6, 0, 2, 0] is CreateClient.
    const createMethod = locations.find((l) => l.path.join(".") === "6.0.2.0");
    expect(createMethod?.leadingComments).toContain("CreateClient registers a client and returns its first secret.");
  });
});
