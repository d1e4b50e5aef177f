import { fromBinary, toJson } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import * as v1 from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { fileDescriptorSetBase64 } from "../../../gen/reflection_set.js";
import { registerReflection } from "../../../src/transport/grpc/services/reflection-service.js";

const services = [
  "tessera.v1.TokenService",
  "tessera.v1.ClientAdmin",
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
];

const transport = createRouterTransport((router) => registerReflection(router, { services, fileDescriptorSetBase64 }));

// A request as a plain object, which both versions' clients accept.
type Request = {
  host?: string;
  messageRequest?:
    | { case: "fileByFilename" | "fileContainingSymbol" | "allExtensionNumbersOfType" | "listServices"; value: string }
    | { case: "fileContainingExtension"; value: { containingType: string; extensionNumber: number } };
};

async function* from<T>(items: T[]): AsyncIterable<T> {
  yield* items;
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

// All requests go over ONE stream, as real clients do.
function askV1(...requests: Request[]): Promise<v1.ServerReflectionResponse[]> {
  return collect(createClient(v1.ServerReflection, transport).serverReflectionInfo(from(requests)));
}

function askV1alpha(...requests: Request[]): Promise<v1alpha.ServerReflectionResponse[]> {
  return collect(createClient(v1alpha.ServerReflection, transport).serverReflectionInfo(from(requests)));
}

const symbol = (value: string): Request => ({ messageRequest: { case: "fileContainingSymbol", value } });
const filename = (value: string): Request => ({ messageRequest: { case: "fileByFilename", value } });

// The decoded files of a file_descriptor_response, in the order sent.
function files(response: v1.ServerReflectionResponse | undefined) {
  expect(response?.messageResponse.case).toBe("fileDescriptorResponse");
  if (response?.messageResponse.case !== "fileDescriptorResponse") return [];
  return response.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b));
}

function names(response: v1.ServerReflectionResponse | undefined): string[] {
  return files(response).map((f) => f.name);
}

function errorOf(response: v1.ServerReflectionResponse | undefined) {
  expect(response?.messageResponse.case).toBe("errorResponse");
  return response?.messageResponse.case === "errorResponse" ? response.messageResponse.value : undefined;
}

describe("registerReflection", () => {
  it("lists exactly the given services and echoes host and request", async () => {
    const [response] = await askV1({ host: "example:443", messageRequest: { case: "listServices", value: "*" } });
    expect(response?.messageResponse.case).toBe("listServicesResponse");
    if (response?.messageResponse.case !== "listServicesResponse") return;
    expect(response.messageResponse.value.service.map((s) => s.name)).toEqual(services);
    expect(response.validHost).toBe("example:443");
    expect(response.originalRequest?.messageRequest).toEqual({ case: "listServices", value: "*" });
  });

  it("answers a service with its file first, then the well-known files it imports", async () => {
    const [response] = await askV1(symbol("tessera.v1.ClientAdmin"));
    const got = files(response);
    expect(got[0]?.name).toBe("tessera/v1/client_admin.proto");
    expect(
      got
        .map((f) => f.name)
        .slice(1)
        .sort(),
    ).toEqual([
      "google/protobuf/duration.proto",
      "google/protobuf/field_mask.proto",
      "google/protobuf/struct.proto",
      "google/protobuf/timestamp.proto",
    ]);
    expect(got[0]?.dependency).toEqual([
      "google/protobuf/duration.proto",
      "google/protobuf/field_mask.proto",
      "google/protobuf/struct.proto",
      "google/protobuf/timestamp.proto",
    ]);
    expect(got[0]?.service.map((s) => s.name)).toEqual(["ClientAdmin"]);
    // Source info survives, so grpcurl describe shows the proto comments.
    const comments = got[0]?.sourceCodeInfo?.location.map((l) => l.leadingComments) ?? [];
    expect(comments.some((c) => c.includes("ClientAdmin manages the OAuth clients that may obtain tokens."))).toBe(true);
  });

  it.each([
    ["a method", "tessera.v1.ClientAdmin.GetClient", "tessera/v1/client_admin.proto"],
    ["a message", "tessera.v1.IssueTokenRequest", "tessera/v1/token_service.proto"],
    ["a field", "tessera.v1.Client.token_ttl", "tessera/v1/client_admin.proto"],
    ["an enum", "grpc.health.v1.HealthCheckResponse.ServingStatus", "grpc/health/v1/health.proto"],
    ["an enum value", "grpc.health.v1.HealthCheckResponse.SERVING", "grpc/health/v1/health.proto"],
    ["a well-known type", "google.protobuf.Timestamp", "google/protobuf/timestamp.proto"],
  ])("finds the file containing %s", async (_kind, name, file) => {
    const [response] = await askV1(symbol(name));
    expect(names(response)[0]).toBe(file);
  });

  it("answers file_by_filename with the file and its imports", async () => {
    const [response] = await askV1(filename("tessera/v1/client_admin.proto"));
    expect(names(response)).toHaveLength(5);
    expect(names(response)[0]).toBe("tessera/v1/client_admin.proto");
    const [timestamp] = await askV1(filename("google/protobuf/timestamp.proto"));
    expect(names(timestamp)).toEqual(["google/protobuf/timestamp.proto"]);
  });

  it("answers unknown names with NOT_FOUND and keeps the stream open", async () => {
    const responses = await askV1(symbol("tessera.v1.NoSuchThing"), filename("nope.proto"), symbol("tessera.v1.TokenService"));
    expect(responses).toHaveLength(3);
    expect(errorOf(responses[0])).toEqual(
      expect.objectContaining({ errorCode: 5, errorMessage: expect.stringContaining("tessera.v1.NoSuchThing") }),
    );
    expect(errorOf(responses[1])?.errorCode).toBe(5);
    expect(names(responses[2])).toEqual(["tessera/v1/token_service.proto"]);
  });

  it("does not resend imports already sent on the same stream, but always the file asked for", async () => {
    const [first, second, third] = await askV1(
      symbol("tessera.v1.ClientAdmin"),
      filename("tessera/v1/client_admin.proto"),
      filename("google/protobuf/duration.proto"),
    );
    expect(names(first)).toHaveLength(5);
    expect(names(second)).toEqual(["tessera/v1/client_admin.proto"]);
    expect(names(third)).toEqual(["google/protobuf/duration.proto"]);
  });

  it("answers extension requests: none are declared, known types have an empty list", async () => {
    const [numbers, unknownType, extension] = await askV1(
      { messageRequest: { case: "allExtensionNumbersOfType", value: "tessera.v1.Client" } },
      { messageRequest: { case: "allExtensionNumbersOfType", value: "tessera.v1.Nope" } },
      { messageRequest: { case: "fileContainingExtension", value: { containingType: "tessera.v1.Client", extensionNumber: 100 } } },
    );
    expect(numbers?.messageResponse).toEqual({
      case: "allExtensionNumbersResponse",
      value: expect.objectContaining({ baseTypeName: "tessera.v1.Client", extensionNumber: [] }),
    });
    expect(errorOf(unknownType)?.errorCode).toBe(5);
    expect(errorOf(extension)?.errorCode).toBe(5);
  });

  it("answers an empty request with INVALID_ARGUMENT and keeps going", async () => {
    const responses = await askV1({}, symbol("tessera.v1.TokenService"));
    expect(errorOf(responses[0])?.errorCode).toBe(3);
    expect(names(responses[1])).toEqual(["tessera/v1/token_service.proto"]);
  });

  it("gives the same answers over v1alpha as over v1", async () => {
    const requests: Request[] = [
      { host: "h", messageRequest: { case: "listServices", value: "" } },
      symbol("tessera.v1.ClientAdmin"),
      symbol("tessera.v1.ClientAdmin.GetClient"),
      filename("grpc/health/v1/health.proto"),
      symbol("tessera.v1.NoSuchThing"),
      { messageRequest: { case: "allExtensionNumbersOfType", value: "tessera.v1.Client" } },
    ];
    const a = (await askV1(...requests)).map((r) => toJson(v1.ServerReflectionResponseSchema, r));
    const b = (await askV1alpha(...requests)).map((r) => toJson(v1alpha.ServerReflectionResponseSchema, r));
    expect(a).toHaveLength(requests.length);
    expect(b).toEqual(a);
  });

  it.each(["tessera.v1.Missing", "tessera.v1.Client"])("refuses at registration a listed service %s the set lacks", (name) => {
    expect(() => createRouterTransport((router) => registerReflection(router, { services: [name], fileDescriptorSetBase64 }))).toThrow(
      `service "${name}" is not in the file descriptor set`,
    );
  });
});
