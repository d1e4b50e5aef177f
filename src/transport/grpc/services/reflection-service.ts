import type { DescEnum, DescExtension, DescFile, DescMessage } from "@bufbuild/protobuf";
import { createFileRegistry, fromBinary, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import { Code } from "@connectrpc/connect";
import * as v1 from "../../../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../../../gen/grpc/reflection/v1alpha/reflection_pb.js";

/** What `registerReflection` serves: the services to list and the schema behind them. */
export interface ReflectionOptions {
  /** Fully-qualified names answered to list_services, e.g. "tessera.v1.TokenService". */
  services: string[];
  /** A base64 google.protobuf.FileDescriptorSet holding those services and everything they import. */
  fileDescriptorSetBase64: string;
}

// v1 and v1alpha messages have identical fields and differ only in their type
// names, so one implementation answers both: requests are read through this
// union and answers are written as plain init objects that fit either schema.
type ReflectionRequest = v1.ServerReflectionRequest | v1alpha.ServerReflectionRequest;
type Answer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

/** The names of the reflection services themselves (v1 and v1alpha), for the list they answer. */
export const REFLECTION_SERVICE_NAMES: readonly string[] = [v1.ServerReflection.typeName, v1alpha.ServerReflection.typeName];

/** Registers grpc.reflection.v1 and v1alpha ServerReflection, answering from the given descriptor set. */
export function registerReflection(router: ConnectRouter, options: ReflectionOptions): void {
  const index = indexDescriptorSet(options.fileDescriptorSetBase64, options.services);
  const impl = {
    async *serverReflectionInfo<R extends ReflectionRequest>(requests: AsyncIterable<R>) {
      // Per stream, as grpc-go does: a dependency sent once is not resent.
      const sent = new Set<string>();
      for await (const request of requests) {
        // grpc.reflection: echo the host and the request the answer belongs to.
        yield { validHost: request.host, originalRequest: request, messageResponse: answer(index, request, sent) };
      }
    },
  };
  router.service(v1.ServerReflection, impl);
  // Many clients in the field (older grpcurl, grpc_cli, IDE plugins) only speak v1alpha.
  router.service(v1alpha.ServerReflection, impl);
}

interface DescriptorIndex {
  /** Service names answered to list_services, as the caller gave them. */
  services: string[];
  /** File name -> serialized FileDescriptorProto, comments included. */
  files: Map<string, { bytes: Uint8Array; dependency: string[] }>;
  /** Fully-qualified symbol -> name of the file that declares it. */
  symbols: Map<string, string>;
  /** Message type name -> the extensions declared for it (empty when it has none). */
  extensions: Map<string, DescExtension[]>;
}

// Decoded once: every answer is a lookup in these maps.
function indexDescriptorSet(base64: string, services: string[]): DescriptorIndex {
  const set = fromBinary(FileDescriptorSetSchema, Buffer.from(base64, "base64"));
  // Building the registry also proves that the set is complete (every import present).
  const registry = createFileRegistry(set);
  for (const name of services) {
    // Fail at startup, not in a client: a listed service the client cannot
    // resolve would break every grpcurl / buf curl session against us.
    if (registry.getService(name) === undefined) {
      throw new Error(`reflection: service "${name}" is not in the file descriptor set`);
    }
  }
  const index: DescriptorIndex = { services, files: new Map(), symbols: new Map(), extensions: new Map() };
  for (const proto of set.file) {
    // Serialise the set's own FileDescriptorProto, not one rebuilt from the
    // registry: it keeps source_code_info, so clients show our comments.
    index.files.set(proto.name, {
      bytes: toBinary(FileDescriptorProtoSchema, proto),
      dependency: proto.dependency,
    });
  }
  for (const file of registry.files) indexFile(index, file);
  return index;
}

function indexFile(index: DescriptorIndex, file: DescFile): void {
  const add = (symbol: string) => index.symbols.set(symbol, file.proto.name);
  const addEnum = (e: DescEnum) => {
    add(e.typeName);
    // Enum values are scoped beside their enum (C++ rules): pkg.Msg.VALUE.
    const scope = e.typeName.slice(0, e.typeName.length - e.name.length);
    for (const value of e.values) add(scope + value.name);
  };
  const addExtension = (ext: DescExtension) => {
    add(ext.typeName);
    const list = index.extensions.get(ext.extendee.typeName) ?? [];
    index.extensions.set(ext.extendee.typeName, [...list, ext]);
  };
  const addMessage = (message: DescMessage) => {
    add(message.typeName);
    if (!index.extensions.has(message.typeName)) index.extensions.set(message.typeName, []);
    for (const field of message.fields) add(`${message.typeName}.${field.name}`);
    for (const oneof of message.oneofs) add(`${message.typeName}.${oneof.name}`);
    message.nestedMessages.forEach(addMessage);
    message.nestedEnums.forEach(addEnum);
    message.nestedExtensions.forEach(addExtension);
  };
  file.messages.forEach(addMessage);
  file.enums.forEach(addEnum);
  file.extensions.forEach(addExtension);
  for (const service of file.services) {
    add(service.typeName);
    for (const method of service.methods) add(`${service.typeName}.${method.name}`);
  }
}

function answer(index: DescriptorIndex, request: ReflectionRequest, sent: Set<string>): Answer {
  const req = request.messageRequest;
  switch (req.case) {
    case "listServices": // its value "will not be checked" (reflection.proto)
      return { case: "listServicesResponse", value: { service: index.services.map((name) => ({ name })) } };
    case "fileByFilename":
      return withDependencies(index, req.value, sent) ?? notFound(`file "${req.value}" not found`);
    case "fileContainingSymbol":
      return withDependencies(index, index.symbols.get(req.value), sent) ?? notFound(`symbol "${req.value}" not found`);
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = req.value;
      const ext = index.extensions.get(containingType)?.find((e) => e.number === extensionNumber);
      return (
        withDependencies(index, ext?.file.proto.name, sent) ?? notFound(`extension ${extensionNumber} of "${containingType}" not found`)
      );
    }
    case "allExtensionNumbersOfType": {
      const extensions = index.extensions.get(req.value);
      if (extensions === undefined) return notFound(`message type "${req.value}" not found`);
      return {
        case: "allExtensionNumbersResponse",
        value: { baseTypeName: req.value, extensionNumber: extensions.map((e) => e.number) },
      };
    }
    default:
      // An empty request, or a kind of request newer than this server knows.
      return error(Code.InvalidArgument, "request sets none of the message_request fields this server knows");
  }
}

// The requested file first, then its transitive imports breadth-first: a
// client can only build a descriptor once it holds every file it imports.
function withDependencies(index: DescriptorIndex, name: string | undefined, sent: Set<string>): Answer | undefined {
  if (name === undefined || !index.files.has(name)) return undefined;
  const out: Uint8Array[] = [];
  const seen = new Set<string>();
  const queue = [name];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    const file = index.files.get(next);
    if (file === undefined || seen.has(next)) continue;
    seen.add(next);
    if (next === name || !sent.has(next)) out.push(file.bytes);
    sent.add(next);
    queue.push(...file.dependency);
  }
  return { case: "fileDescriptorResponse", value: { fileDescriptorProto: out } };
}

function notFound(message: string): Answer {
  return error(Code.NotFound, message);
}

// grpc.reflection error_code uses the gRPC status numbers, which Connect's Code enum mirrors.
function error(code: Code, errorMessage: string): Answer {
  return { case: "errorResponse", value: { errorCode: code, errorMessage } };
}
