import http from "node:http";
import http2 from "node:http2";
import type net from "node:net";
import type { ConnectionTracker } from "./connection-tracker.js";
import { type DrainSignal, drainAwareResponse } from "./drain-aware-response.js";
import { http2Options } from "./http2-options.js";
import { sniffProtocol } from "./protocol-sniffer.js";
import type { ServingParts } from "./serving-parts.js";

/** A cleartext server: what it does with an accepted socket, and how it closes idle HTTP/1.1 connections. */
export interface CleartextServer {
  accept(socket: net.Socket): void;
  closeIdleConnections(): void;
}

/**
 * HTTP/1.1 and h2c side by side on the same sockets: each accepted connection is sniffed and
 * handed to one of two servers that never listen themselves.
 */
export function createCleartextServer(parts: ServingParts, tracker: ConnectionTracker, signal: DrainSignal): CleartextServer {
  const { limits } = parts;
  const h1 = http.createServer(
    {
      maxHeaderSize: limits.maxHeaderBytes,
      ServerResponse: drainAwareResponse(signal),
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: Math.min(limits.requestTimeoutMs, 60_000),
      keepAliveTimeout: Math.min(limits.idleTimeoutMs, 5_000),
      connectionsCheckingInterval: Math.min(1000, limits.requestTimeoutMs),
    },
    parts.handler,
  );
  // h1 never listens itself (sockets are handed to it), but Node only tracks connections (for
  // closeIdleConnections and the request/headers timeouts) once a server is listening.
  h1.emit("listening");
  const h2 = http2.createServer(http2Options(limits), parts.handler);
  parts.prepareHttp2(h2);
  h2.setTimeout(limits.idleTimeoutMs);
  h2.on("session", (s) => tracker.trackSession(s));
  const targets = {
    http2: (socket: net.Socket) => h2.emit("connection", socket),
    http1: (socket: net.Socket) => h1.emit("connection", socket),
  };
  return {
    accept(socket) {
      tracker.trackSocket(socket);
      sniffProtocol(socket, limits.requestTimeoutMs, targets);
    },
    closeIdleConnections: () => h1.closeIdleConnections(),
  };
}
