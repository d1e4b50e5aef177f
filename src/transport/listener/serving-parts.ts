import type http from "node:http";
import type http2 from "node:http2";

/** Answers every request the listener's servers receive, HTTP/1.1 and HTTP/2 alike. */
export type RequestHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** Request and connection limits of the public port (see config.ts for defaults and the README for why). */
export interface ListenerLimits {
  maxHeaderBytes: number;
  /** Slow clients: a request (headers and body) must arrive within this. */
  requestTimeoutMs: number;
  /** Idle keep-alive connections and HTTP/2 sessions are closed after this. */
  idleTimeoutMs: number;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS. */
  maxConcurrentStreams: number;
}

/** What the cleartext and the TLS servers are built from. */
export interface ServingParts {
  handler: RequestHandler;
  limits: ListenerLimits;
  /** Prepares each HTTP/2 server before it serves: streams it answers itself, stream deadlines. */
  prepareHttp2(server: http2.Http2Server | http2.Http2SecureServer): void;
}
