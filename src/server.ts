import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { AddressInfo } from "node:net";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Logger } from "pino";
import { ClientAdminCore } from "./core/client-admin.js";
import type { Clock } from "./core/clock.js";
import type { SecretUseTracker } from "./core/secret-use.js";
import type { Storage } from "./storage/storage.js";
import type { KeyRing } from "./keys/key-ring.js";
import { createHttpRoutes } from "./transport/http/routes.js";
import { sendJson } from "./transport/http/respond.js";
import { adminAuthInterceptor, registerClientAdmin } from "./transport/grpc/client-admin-service.js";
import { registerKeyAdmin } from "./transport/grpc/key-admin-service.js";
import { errorMappingInterceptor } from "./transport/grpc/errors.js";
import { registerHealth, type HealthState } from "./transport/grpc/health.js";
import { registerReflection } from "./transport/grpc/reflection.js";
import { registerTokenService } from "./transport/grpc/token-service.js";
import { fileDescriptorSetBase64 } from "../gen/reflection_set.js";

/** Everything the server needs, built by main.ts (or a test). */
export interface ServerDeps {
  storage: Storage;
  keys: KeyRing;
  clock: Clock;
  issuer: string;
  secretUse: SecretUseTracker;
  health: HealthState;
  log: Logger;
  maxBodyBytes: number;
  /** How long verifiers may cache the JWKS (Cache-Control max-age), seconds. */
  jwksMaxAgeSeconds: number;
}

/** The dependencies every door shares: the core's, with keys seen as signer and JWKS. */
function coreDeps(deps: ServerDeps) {
  return {
    ...deps,
    signer: deps.keys,
    jwks: () => deps.keys.jwks,
    publicKeys: () => deps.keys.jwks,
    signingAlgs: () => [...new Set(deps.keys.jwks.keys.map((k) => k.alg))],
  };
}

/** A built, not yet listening, Tessera server. */
export interface TesseraServer {
  /** Starts listening; port 0 picks a free port. */
  listen(port: number, host?: string): Promise<AddressInfo>;
  /** Stops accepting connections and closes the open ones. */
  close(): Promise<void>;
}

// RFC 9113 §3.4: every HTTP/2 connection starts with this preface.
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** The gRPC services served on the port, for reflection's list_services. */
export const SERVICE_NAMES = [
  "tessera.v1.TokenService",
  "tessera.v1.ClientAdmin",
  "tessera.v1.KeyAdmin",
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
];

/** Registers every RPC service on a router: one place that lists what the port serves. */
export function routes(deps: ServerDeps): (router: ConnectRouter) => void {
  const onUnexpected = (err: unknown) => deps.log.error({ err }, "unexpected error in RPC handler");
  const errors = errorMappingInterceptor(deps.issuer, onUnexpected);
  const core = coreDeps(deps);
  // Service options replace the router's interceptors, so the error mapping is passed again.
  const admin = [errors, adminAuthInterceptor(core)];
  return (router) => {
    registerTokenService(router, core);
    registerClientAdmin(router, new ClientAdminCore(deps.storage, deps.clock), deps.clock, admin);
    registerKeyAdmin(router, deps.keys, admin);
    registerHealth(router, deps.health);
    registerReflection(router, { services: SERVICE_NAMES, fileDescriptorSetBase64 });
  };
}

/**
 * Builds the one-port server: gRPC (h2c), gRPC-Web and Connect (HTTP/1.1 and h2c) through
 * connect-node, plus the OAuth form endpoint and .well-known documents, all on one listener.
 */
export function build(deps: ServerDeps): TesseraServer {
  const onUnexpected = (err: unknown) => deps.log.error({ err }, "unexpected error in HTTP handler");
  // Aborting this ends open streams (health Watch) so close() does not wait on them forever.
  const shutdown = new AbortController();
  const rpc = connectNodeAdapter({
    routes: routes(deps),
    shutdownSignal: shutdown.signal,
    interceptors: [errorMappingInterceptor(deps.issuer, onUnexpected)],
    fallback: (_req, res) => sendJson(res, 404, { error: "not_found", error_description: "No such endpoint" }),
  });
  const plain = createHttpRoutes({ ...coreDeps(deps), onUnexpected });
  const handler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => {
    if (!plain(req, res)) rpc(req, res);
  };
  const h1 = http.createServer(handler);
  const h2 = http2.createServer({}, handler);
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.Http2Session>();
  h2.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });

  // Node 20 cannot serve HTTP/1.1 and h2c on one cleartext port by itself (nodejs/node
  // #26795): peek at the first bytes and hand the socket to the right server.
  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    let seen: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, H2_PREFACE.length);
      const couldBeH2 = seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      if (couldBeH2 && seen.length < H2_PREFACE.length) return; // wait for the whole preface
      socket.off("data", onData);
      socket.pause();
      socket.unshift(seen);
      if (couldBeH2) {
        // Http2Session reads the unshifted bytes itself; resuming here would lose the preface.
        h2.emit("connection", socket);
      } else {
        h1.emit("connection", socket);
        socket.resume();
      }
    };
    socket.on("data", onData);
    socket.on("error", () => socket.destroy());
  });

  return {
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        tcp.once("error", reject);
        tcp.listen(port, host, () => {
          tcp.off("error", reject);
          resolve(tcp.address() as AddressInfo);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        shutdown.abort();
        tcp.close(() => resolve());
        for (const s of sessions) s.destroy();
        for (const s of sockets) s.destroy();
        h1.closeAllConnections();
      }),
  };
}
