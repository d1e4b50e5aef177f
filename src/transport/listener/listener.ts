import type http2 from "node:http2";
import type net from "node:net";
import { createCleartextServer } from "./cleartext-server.js";
import { ConnectionTracker } from "./connection-tracker.js";
import { drain } from "./drain.js";
import { type Listeners, type ListenPlan, listenAll } from "./listen-all.js";
import type { ListenerLimits, RequestHandler } from "./serving-parts.js";
import { StreamDeadlines } from "./stream-deadlines.js";
import { createTlsServer, type TlsFiles } from "./tls-server.js";

/**
 * Closing an idle keep-alive connection races with a request its client may be sending on it
 * (RFC 9112 §9.6): for this long after a drain starts, busy clients get their next answer with
 * Connection: close instead, and only connections still idle after it are closed.
 */
const IDLE_CUTOFF_MS = 250;

/** What the public port is built from. */
export interface ListenerOptions {
  handler: RequestHandler;
  limits: ListenerLimits;
  /** PEM files; when given, every protocol is served over TLS (ALPN h2 and http/1.1). */
  tls?: TlsFiles | undefined;
  /** Called with each HTTP/2 server before it serves, to take over the streams it answers itself (the gRPC fast path). */
  onHttp2Server?: ((server: http2.Http2Server | http2.Http2SecureServer) => void) | undefined;
  /** Called once new connections are refused and before connections drain: ends long streams (health Watch). */
  onClose?: (() => void) | undefined;
  /** When a drain closes idle HTTP/1.1 connections; IDLE_CUTOFF_MS unless given. */
  idleCutoffMs?: number | undefined;
}

/** The public port, built but not yet listening. */
export interface Listener {
  /** Starts listening on every host of the plan, one port for all; port 0 picks a free port. */
  listen(port: number, plan: ListenPlan): Promise<Pick<Listeners, "addresses" | "skipped">>;
  /**
   * Stops accepting connections, lets requests in flight finish for up to `graceMs`, then
   * closes what is left.
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * One listener for every protocol: gRPC, gRPC-Web, Connect and plain HTTP on one port.
 * Cleartext serves h2c and HTTP/1.1 side by side; with TLS, ALPN picks h2 or http/1.1.
 */
export function createListener(options: ListenerOptions): Listener {
  const tracker = new ConnectionTracker();
  // HTTP/1.1 has Node's requestTimeout; HTTP/2 streams get the same limit here.
  const deadlines = new StreamDeadlines(options.limits.requestTimeoutMs);
  let idleClosing = false;
  let closeIdle: (() => void) | undefined;
  const signal = {
    draining: false,
    keptAliveAnswerFinished: () => {
      // After the cutoff, a connection left idle by an answer that finishes now is closed at once.
      if (idleClosing && closeIdle) setImmediate(closeIdle);
    },
  };
  const parts = {
    handler: options.handler,
    limits: options.limits,
    prepareHttp2: (server: http2.Http2Server | http2.Http2SecureServer) => {
      options.onHttp2Server?.(server);
      server.on("stream", (stream, headers) => deadlines.track(stream, headers));
    },
  };
  let accept: (socket: net.Socket) => void;
  if (options.tls) {
    accept = createTlsServer(parts, options.tls, tracker, signal);
  } else {
    const cleartext = createCleartextServer(parts, tracker, signal);
    accept = (socket) => cleartext.accept(socket);
    closeIdle = () => cleartext.closeIdleConnections();
  }

  let listeners: Listeners | undefined;
  return {
    listen: async (port, plan) => {
      listeners = await listenAll(plan, port, accept);
      return listeners;
    },
    close: async (graceMs = 0) => {
      signal.draining = true;
      const stopped = listeners?.close() ?? Promise.resolve();
      // Let health watchers see NOT_SERVING before their streams end.
      await new Promise((r) => setImmediate(r));
      options.onClose?.();
      const idle = closeIdle;
      await drain(tracker, {
        graceMs,
        idleCutoffMs: options.idleCutoffMs ?? IDLE_CUTOFF_MS,
        closeIdle:
          idle &&
          (() => {
            idleClosing = true;
            idle();
          }),
      });
      deadlines.stop();
      await stopped;
    },
  };
}
