import { fileURLToPath } from "node:url";
import { fromBinary } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "../../gen/google/rpc/status_pb.js";

const PROTO_DIR = fileURLToPath(new URL("../../proto", import.meta.url));

// Loaded from the .proto files by @grpc/proto-loader: an implementation independent of the
// server's generated code, as a polyglot user's stub would be.
const definition = protoLoader.loadSync(["tessera/v1/token_service.proto", "tessera/v1/client_admin.proto"], {
  includeDirs: [PROTO_DIR],
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
});
const pkg = grpc.loadPackageDefinition(definition) as unknown as {
  tessera: { v1: { TokenService: grpc.ServiceClientConstructor; ClientAdmin: grpc.ServiceClientConstructor } };
};

/** TokenService/IssueToken's answer as a stub generated from the .proto files decodes it. */
export interface IssueTokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
}

/** A grpc-js client for a Tessera service on `port` (h2c). */
export function grpcClient(service: "TokenService" | "ClientAdmin", port: number): grpc.Client {
  return new pkg.tessera.v1[service](`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}

/** A failed call's status plus the OAuth reason from its google.rpc.ErrorInfo detail, if any. */
export interface CallFailure {
  code: grpc.status;
  details: string;
  reason: string | undefined;
  /** The retry-after trailer (seconds), when the server sent one. */
  retryAfter?: string | undefined;
}

/** Calls a unary method; resolves with the response or rejects with a CallFailure. */
export function unary<T = Record<string, unknown>>(
  client: grpc.Client,
  method: string,
  request: object,
  metadata: Record<string, string> = {},
): Promise<T> {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  return new Promise((resolve, reject) => {
    (client as unknown as Record<string, Function>)[method]!.call(
      client,
      request,
      md,
      { deadline: Date.now() + 10_000 },
      (err: grpc.ServiceError | null, res: T) => {
        if (err) reject(toFailure(err));
        else resolve(res);
      },
    );
  });
}

function toFailure(err: grpc.ServiceError): CallFailure {
  let reason: string | undefined;
  const raw = err.metadata?.get("grpc-status-details-bin")[0];
  if (raw instanceof Buffer) {
    const status = fromBinary(StatusSchema, raw);
    for (const d of status.details) {
      const info = anyUnpack(d, ErrorInfoSchema);
      if (info) reason = info.reason;
    }
  }
  const retryAfter = err.metadata?.get("retry-after")[0];
  return { code: err.code, details: err.details, reason, retryAfter: typeof retryAfter === "string" ? retryAfter : undefined };
}

/** Awaits a call that must fail and returns its CallFailure; throws if it succeeded. */
export async function failure(p: Promise<unknown>): Promise<CallFailure> {
  try {
    await p;
  } catch (e) {
    return e as CallFailure;
  }
  throw new Error("call unexpectedly succeeded");
}
