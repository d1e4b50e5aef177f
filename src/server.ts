import { setMaxListeners } from "node:events";
import { readFileSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import type net from "node:net";
import type { TLSSocket } from "node:tls";
import { createContextValues, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Logger } from "pino";
import { ClientAdminCore } from "./core/client-admin.js";
import type { Clock } from "./core/clock.js";
import type { RequestGuard } from "./core/request-guard.js";
import type { SecretUseTracker } from "./core/secret-use.js";
import type { KeyRing } from "./keys/key-ring.js";
import type { Metrics } from "./observability/metrics.js";
import type { ReadinessReport } from "./observability/readiness.js";
import type { RequestObserver } from "./observability/request-observer.js";
import type { Storage } from "./storage/storage.js";
import { adminObserverInterceptor } from "./transport/grpc/admin-observer.js";
import { adminAuthInterceptor, registerClientAdmin } from "./transport/grpc/client-admin-service.js";
import { connectionKey, originKey } from "./transport/grpc/context.js";
import { errorMappingInterceptor } from "./transport/grpc/errors.js";
import { registerHealth, type HealthState } from "./transport/grpc/health.js";
import { registerKeyAdmin } from "./transport/grpc/key-admin-service.js";
import { registerReflection } from "./transport/grpc/reflection.js";
import { installFastIssueToken, type FastPathDeps } from "./transport/grpc/fast-issue-token.js";
import { registerTokenService } from "./transport/grpc/token-service.js";
import { readWholeMessages } from "./transport/grpc/whole-messages.js";
import { sendJson } from "./transport/http/respond.js";
import { createHttpRoutes } from "./transport/http/routes.js";
import { listenAll, type ListenPlan, type Listeners } from "./transport/listeners.js";
import { clientAddress } from "./transport/origin.js";
import { StreamDeadlines } from "./transport/stream-deadlines.js";
import { fileDescriptorSetBase64 } from "../gen/reflection_set.js";

/** Request and connection limits (see config.ts for defaults and the README for why). */
export interface ServerLimits {
  maxBodyBytes: number;
  maxHeaderBytes: number;
  maxMessageBytes: number;
  maxDeadlineMs: number;
  /** Slow clients: a request (headers and body) must arrive within this. */
  requestTimeoutMs: number;
  /** Idle keep-alive connections and HTTP/2 sessions are closed after this. */
  idleTimeoutMs: number;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS. */
  maxConcurrentStreams: number;
  /** Health Watch streams open at once in the process. */
  maxHealthWatches: number;
}

// gRPC clients that check health watch one service per connection; this leaves room for every
// name the server reports, twice, and stops one connection from holding the process's share.
const HEALTH_WATCHES_PER_CONNECTION = 8;

/** Everything the server needs, built by main.ts (or a test). */
export interface ServerDeps {
  storage: Storage;
  keys: KeyRing;
  clock: Clock;
  issuer: string;
  secretUse: SecretUseTracker;
  health: HealthState;
  log: Logger;
  observer: RequestObserver;
  /** Served as GET /metrics on this port; undefined: not served here (another listener, or none). */
  metrics: Metrics | undefined;
  guard: RequestGuard | undefined;
  trustedProxies: ReadonlySet<string>;
  limits: ServerLimits;
  /** How long verifiers may cache the JWKS (Cache-Control max-age), seconds. */
  jwksMaxAgeSeconds: number;
  /** Readiness checks for GET /readyz (GET /healthz is always served). */
  readiness?: (() => Promise<ReadinessReport>) | undefined;
  /** The built web console served at /console (dist/console); absent: /console says how to build it. */
  consoleDir?: string | undefined;
  /** PEM files; when given, every protocol is served over TLS (ALPN h2 and http/1.1). */
  tls?: { cert: string; key: string } | undefined;
}

/** The dependencies every door shares: the core's, with keys seen as signer and JWKS. */
function coreDeps(deps: ServerDeps) {
  return {
    ...deps,
    maxBodyBytes: deps.limits.maxBodyBytes,
    signer: deps.keys,
    jwks: () => deps.keys.jwks,
    publicKeys: () => deps.keys.jwks,
    signingAlgs: () => [...new Set(deps.keys.jwks.keys.map((k) => k.alg))],
  };
}

/** A built, not yet listening, Tessera server. */
export interface TesseraServer {
  /** Starts listening on every host of the plan, one port for all; port 0 picks a free port. */
  listen(port: number, plan: ListenPlan): Promise<Pick<Listeners, "addresses" | "skipped">>;
  /**
   * Stops accepting connections, lets requests in flight finish for up to `graceMs`, then
   * closes what is left.
   */
  close(graceMs?: number): Promise<void>;
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
  const admin = [adminObserverInterceptor(deps.observer), errors, adminAuthInterceptor(core)];
  return (router) => {
    registerTokenService(router, core);
    registerClientAdmin(router, new ClientAdminCore(deps.storage, deps.clock), deps.clock, admin);
    registerKeyAdmin(router, deps.keys, deps.clock, admin);
    registerHealth(router, deps.health, {
      max: deps.limits.maxHealthWatches,
      perConnection: HEALTH_WATCHES_PER_CONNECTION,
      connectionOf: (ctx) => ctx.values.get(connectionKey),
    });
    registerReflection(router, { services: SERVICE_NAMES, fileDescriptorSetBase64 });
  };
}

type AnyRequest = http.IncomingMessage | http2.Http2ServerRequest;
type AnyResponse = http.ServerResponse | http2.Http2ServerResponse;

/**
 * Builds the one-port server: gRPC, gRPC-Web and Connect through connect-node, plus the OAuth
 * form endpoints, .well-known documents and /metrics, all on one listener. Cleartext serves
 * h2c and HTTP/1.1 side by side; with TLS, ALPN picks h2 or http/1.1.
 */
export function build(deps: ServerDeps): TesseraServer {
  const onUnexpected = (err: unknown) => deps.log.error({ err }, "unexpected error in HTTP handler");
  // Aborting this ends open streams (health Watch) so close() does not wait on them forever.
  const shutdown = new AbortController();
  // connect-node adds one listener per call in flight; thousands are normal here.
  setMaxListeners(0, shutdown.signal);
  let closing = false;
  const rpc = connectNodeAdapter({
    routes: routes(deps),
    shutdownSignal: shutdown.signal,
    readMaxBytes: deps.limits.maxMessageBytes,
    maxTimeoutMs: deps.limits.maxDeadlineMs,
    interceptors: [errorMappingInterceptor(deps.issuer, onUnexpected)],
    contextValues: (req) =>
      createContextValues()
        .set(originKey, clientAddress(req.socket.remoteAddress, req.headers["x-forwarded-for"], deps.trustedProxies))
        .set(connectionKey, "stream" in req ? req.stream.session : req.socket),
    fallback: (_req, res) => sendJson(res, 404, { error: "not_found", error_description: "No such endpoint" }),
  });
  const plain = createHttpRoutes({
    ...coreDeps(deps),
    onUnexpected,
    scrapeMetrics: deps.metrics ? () => deps.metrics!.scrape() : undefined,
    readiness: deps.readiness,
  });
  // HTTP/1.1 answers whose headers are written during a drain say Connection: close, so their
  // sockets end after them. Done where headers are written rather than by tracking every
  // response: no per-request bookkeeping on the token path.
  class DrainAwareResponse extends http.ServerResponse {}
  const writeHead = http.ServerResponse.prototype.writeHead;
  DrainAwareResponse.prototype.writeHead = function (this: http.ServerResponse, ...args: unknown[]) {
    if (closing) this.shouldKeepAlive = false;
    return (writeHead as (...a: unknown[]) => http.ServerResponse).apply(this, args);
  } as typeof writeHead;
  const handler = (req: AnyRequest, res: AnyResponse) => {
    if (plain(req, res)) return;
    readWholeMessages(req, deps.limits.maxMessageBytes);
    rpc(req, res);
  };

  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.Http2Session>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };
  const fastPath: FastPathDeps = {
    ...coreDeps(deps),
    maxMessageBytes: deps.limits.maxMessageBytes,
    maxDeadlineMs: deps.limits.maxDeadlineMs,
    onUnexpected: (err) => deps.log.error({ err }, "unexpected error in RPC handler"),
  };
  const h2Options: http2.ServerOptions = {
    maxSessionMemory: 16,
    settings: { maxHeaderListSize: deps.limits.maxHeaderBytes, maxConcurrentStreams: deps.limits.maxConcurrentStreams },
    maxSendHeaderBlockLength: deps.limits.maxHeaderBytes,
  };

  // HTTP/1.1 has Node's requestTimeout; HTTP/2 streams get the same limit here.
  const deadlines = new StreamDeadlines(deps.limits.requestTimeoutMs);
  // Every listening socket hands its connections here (listeners.ts: one per address).
  let accept: (socket: net.Socket) => void;
  let h1: http.Server | undefined;
  if (deps.tls) {
    const secure = http2.createSecureServer(
      {
        ...h2Options,
        cert: readFileSync(deps.tls.cert),
        key: readFileSync(deps.tls.key),
        allowHTTP1: true,
        ALPNProtocols: ["h2", "http/1.1"],
        Http1ServerResponse: DrainAwareResponse,
      },
      handler,
    );
    installFastIssueToken(secure, fastPath);
    secure.on("stream", (stream, headers) => deadlines.track(stream, headers));
    secure.on("secureConnection", (s: TLSSocket) => track(s));
    secure.on("session", (s) => {
      sessions.add(s);
      s.once("close", () => sessions.delete(s));
    });
    secure.setTimeout(deps.limits.idleTimeoutMs);
    // The TLS server never listens itself: it wraps the sockets the listeners accept.
    accept = (socket) => secure.emit("connection", socket);
  } else {
    h1 = http.createServer(
      {
        maxHeaderSize: deps.limits.maxHeaderBytes,
        ServerResponse: DrainAwareResponse,
        requestTimeout: deps.limits.requestTimeoutMs,
        headersTimeout: Math.min(deps.limits.requestTimeoutMs, 60_000),
        keepAliveTimeout: Math.min(deps.limits.idleTimeoutMs, 5_000),
        connectionsCheckingInterval: Math.min(1000, deps.limits.requestTimeoutMs),
      },
      handler,
    );
    // h1 never listens itself (sockets are handed to it), but Node only tracks connections
    // (for closeIdleConnections and the request/headers timeouts) once a server is listening.
    h1.emit("listening");
    const h2 = http2.createServer(h2Options, handler);
    installFastIssueToken(h2, fastPath);
    h2.on("stream", (stream, headers) => deadlines.track(stream, headers));
    h2.setTimeout(deps.limits.idleTimeoutMs);
    h2.on("session", (s) => {
      sessions.add(s);
      s.once("close", () => sessions.delete(s));
    });
    const http1 = h1;
    // Node 20 cannot serve HTTP/1.1 and h2c on one cleartext port by itself (nodejs/node
    // #26795): peek at the first bytes and hand the socket to the right server.
    accept = (socket) => {
      track(socket);
      socket.on("error", () => socket.destroy());
      // A client that connects and sends nothing is dropped (slowloris).
      socket.setTimeout(deps.limits.requestTimeoutMs, () => socket.destroy());
      let seen: Buffer = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
        const n = Math.min(seen.length, H2_PREFACE.length);
        const couldBeH2 = seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
        if (couldBeH2 && seen.length < H2_PREFACE.length) return; // wait for the whole preface
        socket.off("data", onData);
        socket.setTimeout(0);
        socket.pause();
        socket.unshift(seen);
        if (couldBeH2) {
          // Http2Session reads the unshifted bytes itself; resuming here would lose the preface.
          h2.emit("connection", socket);
        } else {
          http1.emit("connection", socket);
          socket.resume();
        }
      };
      socket.on("data", onData);
    };
  }

  let listeners: Listeners | undefined;
  return {
    listen: async (port, plan) => {
      listeners = await listenAll(plan, port, accept);
      return listeners;
    },
    close: async (graceMs = 0) => {
      closing = true;
      const stopped = listeners?.close() ?? Promise.resolve();
      // Let health watchers see NOT_SERVING before their streams end.
      await new Promise((r) => setImmediate(r));
      shutdown.abort();
      for (const s of sessions) s.close(); // GOAWAY: streams in flight finish, no new ones
      // Closing an idle keep-alive connection races with a request the client may be sending
      // on it (RFC 9112 §9.6). So for a moment busy clients get their next answer with
      // Connection: close instead; only connections still idle after that are closed.
      const deadline = Date.now() + graceMs;
      const idleCutoff = Date.now() + Math.min(graceMs, 250);
      while (sockets.size > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
        if (Date.now() >= idleCutoff) h1?.closeIdleConnections();
      }
      for (const s of sessions) s.destroy();
      for (const s of sockets) s.destroy();
      deadlines.stop();
      await stopped;
    },
  };
}
