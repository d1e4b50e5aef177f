import { readFileSync } from "node:fs";
import http2 from "node:http2";
import type net from "node:net";
import type { TLSSocket } from "node:tls";
import type { ConnectionTracker } from "./connection-tracker.js";
import { type DrainSignal, drainAwareResponse } from "./drain-aware-response.js";
import { http2Options } from "./http2-options.js";
import type { ServingParts } from "./serving-parts.js";

/** PEM files of the certificate chain and its private key. */
export interface TlsFiles {
  cert: string;
  key: string;
}

/**
 * Every protocol over TLS: ALPN picks h2 or http/1.1 (allowHTTP1), so no sniffing is needed.
 * The server never listens itself: it wraps the sockets the listeners accept.
 */
export function createTlsServer(
  parts: ServingParts,
  files: TlsFiles,
  tracker: ConnectionTracker,
  signal: DrainSignal,
): (socket: net.Socket) => void {
  const secure = http2.createSecureServer(
    {
      ...http2Options(parts.limits),
      cert: readFileSync(files.cert),
      key: readFileSync(files.key),
      allowHTTP1: true,
      ALPNProtocols: ["h2", "http/1.1"],
      Http1ServerResponse: drainAwareResponse(signal),
    },
    parts.handler,
  );
  parts.prepareHttp2(secure);
  secure.on("secureConnection", (s: TLSSocket) => tracker.trackSocket(s));
  secure.on("session", (s) => tracker.trackSession(s));
  secure.setTimeout(parts.limits.idleTimeoutMs);
  return (socket) => secure.emit("connection", socket);
}
