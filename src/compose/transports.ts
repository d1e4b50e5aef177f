import type http2 from "node:http2";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { Metrics } from "../observability/metrics.js";
import type { Readiness } from "../observability/readiness.js";
import { decodeProtobufStringsExactly } from "../transport/grpc/exact-strings.js";
import { createRpcHandler } from "../transport/grpc/rpc-handler.js";
import { registerRpcServices, reportUnparsable } from "../transport/grpc/rpc-services.js";
import { installFastIssueToken } from "../transport/grpc/services/fast-issue-token.js";
import { builtConsoleDir } from "../transport/http/console-files.js";
import { sendNotFound } from "../transport/http/respond.js";
import { createHttpRoutes } from "../transport/http/routes.js";
import type { RequestHandler } from "../transport/listener/serving-parts.js";
import { onePortHandler } from "../transport/one-port-handler.js";
import type { CoreParts } from "./core.js";
import type { Telemetry } from "./observability.js";

/** The doors, ready for a listener: one handler for every request, the gRPC fast path, and a way to end open streams. */
export interface Transports {
  handler: RequestHandler;
  onHttp2Server: (server: http2.Http2Server | http2.Http2SecureServer) => void;
  /** Ends open RPC streams (health Watch) when the listener closes. */
  shutdown: () => void;
}

/**
 * The gRPC services and the plain HTTP endpoints over the core. `metrics` is served as GET
 * /metrics on the public port when given (not when --metrics-addr gives it a listener of its own).
 */
export function composeTransports(
  config: Config,
  log: Logger,
  core: CoreParts,
  telemetry: Telemetry,
  readiness: Readiness,
  metrics: Metrics | undefined,
): Transports {
  decodeProtobufStringsExactly();
  const trustedProxies = new Set(config.trustProxy);
  const jwksMaxAgeSeconds = Math.round(config.jwksMaxAgeMs / 1000);
  const tokenDeps = { ...core, observer: telemetry.observer, jwksMaxAgeSeconds };
  const rpcUnexpected = (err: unknown) => log.error({ err }, "unexpected error in RPC handler");
  const rpc = createRpcHandler({
    services: registerRpcServices({
      ...tokenDeps,
      health: telemetry.health,
      maxHealthWatches: config.maxHealthWatches,
      onUnexpected: rpcUnexpected,
    }),
    issuer: config.issuer,
    maxMessageBytes: config.maxMessageBytes,
    maxDeadlineMs: config.maxDeadlineMs,
    trustedProxies,
    onUnexpected: rpcUnexpected,
    onUnparsable: reportUnparsable(telemetry.observer),
    notFound: sendNotFound,
  });
  const plain = createHttpRoutes({
    ...tokenDeps,
    trustedProxies,
    maxBodyBytes: config.maxBodyBytes,
    onUnexpected: (err) => log.error({ err }, "unexpected error in HTTP handler"),
    scrapeMetrics: metrics && (() => metrics.scrape()),
    readiness: () => readiness.check(),
    consoleDir: builtConsoleDir(),
  });
  const fastPath = {
    ...tokenDeps,
    trustedProxies,
    maxMessageBytes: config.maxMessageBytes,
    maxDeadlineMs: config.maxDeadlineMs,
    onUnexpected: rpcUnexpected,
  };
  return {
    handler: onePortHandler(plain, rpc.handle, config.maxMessageBytes),
    onHttp2Server: (server) => installFastIssueToken(server, fastPath),
    shutdown: rpc.shutdown,
  };
}
