import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { within } from "./eventually.js";
import { unary } from "./grpc-js.js";
import type { Credentials } from "./tessera-process.js";

export { type CallFailure, unary } from "./grpc-js.js";

const PROTO_DIR = fileURLToPath(new URL("../../proto", import.meta.url));

// Loaded from the .proto files by @grpc/proto-loader, independent of the server's generated code.
const definition = protoLoader.loadSync(
  ["tessera/v1/token_service.proto", "tessera/v1/client_admin.proto", "tessera/v1/key_admin.proto", "grpc/health/v1/health.proto"],
  { includeDirs: [PROTO_DIR], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true },
);
const pkg = grpc.loadPackageDefinition(definition) as unknown as {
  tessera: { v1: Record<"TokenService" | "ClientAdmin" | "KeyAdmin", grpc.ServiceClientConstructor> };
  grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
};

/** A service this helper can call. */
export type OpsService = "TokenService" | "ClientAdmin" | "KeyAdmin" | "Health";

/** A grpc-js client for `service` at `target` (host:port), cleartext (h2c) unless `credentials` says otherwise. */
export function opsClient(
  service: OpsService,
  target: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  options: grpc.ClientOptions = {},
): grpc.Client {
  const ctor = service === "Health" ? pkg.grpc.health.v1.Health : pkg.tessera.v1[service];
  return new ctor(target, credentials, options);
}

/** An access token with scope tessera:admin for the bootstrap admin, through IssueToken. */
export async function adminToken(tokens: grpc.Client, admin: Credentials): Promise<string> {
  const res = await unary<{ access_token: string }>(tokens, "IssueToken", {
    client_id: admin.clientId,
    client_secret: admin.clientSecret,
    scope: "tessera:admin",
  });
  return res.access_token;
}

/** The metadata carrying an admin bearer token. */
export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** The serving status of `service` through grpc.health.v1.Health/Check (NOT_FOUND etc. reject). */
export async function healthStatus(health: grpc.Client, service: string): Promise<string> {
  return (await unary<{ status: string }>(health, "Check", { service })).status;
}

/** An open grpc.health.v1.Health/Watch stream and what it has received. */
export interface HealthWatch {
  statuses: string[];
  /** Resolves with the status the stream ended with. */
  ended: Promise<{ code: grpc.status; details: string }>;
  /** Resolves when a status matching `want` has arrived (or had already); fails after `ms`. */
  next(want: string, ms?: number): Promise<void>;
  cancel(): void;
}

/** Opens Health/Watch for `service`. */
export function watchHealth(health: grpc.Client, service: string): HealthWatch {
  const call = (health as unknown as { Watch(req: object): grpc.ClientReadableStream<{ status: string }> }).Watch({ service });
  const statuses: string[] = [];
  const listeners = new Set<() => void>();
  call.on("data", (m: { status: string }) => {
    statuses.push(m.status);
    for (const l of listeners) l();
  });
  const ended = new Promise<{ code: grpc.status; details: string }>((resolve) => {
    call.on("status", (s: grpc.StatusObject) => resolve({ code: s.code, details: s.details }));
    call.on("error", () => undefined); // the status event carries the outcome
  });
  return {
    statuses,
    ended,
    next: (want, ms = 10_000) => {
      if (statuses.includes(want)) return Promise.resolve();
      let check = () => undefined as void;
      const received = new Promise<void>((resolve) => {
        check = () => {
          if (!statuses.includes(want)) return;
          listeners.delete(check);
          resolve();
        };
        listeners.add(check);
      });
      return within(`Health/Watch(${service}) to receive ${want}`, received, ms).catch((err: Error) => {
        listeners.delete(check);
        throw new Error(`${err.message} (got ${statuses.join(",")})`);
      });
    },
    cancel: () => call.cancel(),
  };
}

type StructValue =
  | {
      kind?: string;
      nullValue?: unknown;
      numberValue?: number;
      stringValue?: string;
      boolValue?: boolean;
      structValue?: Struct;
      listValue?: { values: StructValue[] };
    }
  | Record<string, unknown>;
interface Struct {
  fields: Record<string, StructValue>;
}

/** A google.protobuf.Struct as proto-loader decodes it, turned into plain JSON. */
export function structToJson(s: Struct | null | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s?.fields ?? {})) out[k] = valueToJson(v);
  return out;
}

function valueToJson(v: StructValue): unknown {
  const kind = (v as { kind?: string }).kind;
  const val = v as Record<string, unknown>;
  switch (kind) {
    case "nullValue":
      return null;
    case "numberValue":
      return val.numberValue;
    case "stringValue":
      return val.stringValue;
    case "boolValue":
      return val.boolValue;
    case "structValue":
      return structToJson(val.structValue as Struct);
    case "listValue":
      return ((val.listValue as { values?: StructValue[] }).values ?? []).map(valueToJson);
    default:
      return undefined;
  }
}

/** Seconds since the epoch of a google.protobuf.Timestamp decoded with longs as strings, in ms. */
export function timestampMs(t: { seconds: string; nanos: number } | null | undefined): number | undefined {
  return t ? Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6) : undefined;
}
