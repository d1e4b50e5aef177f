import type http2 from "node:http2";

/** The connection limits an HTTP/2 server of this listener enforces. */
export interface Http2Limits {
  maxHeaderBytes: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS. */
  maxConcurrentStreams: number;
}

/** Options shared by the cleartext (h2c) and TLS HTTP/2 servers. */
export function http2Options(limits: Http2Limits): http2.ServerOptions {
  return {
    maxSessionMemory: 16,
    settings: { maxHeaderListSize: limits.maxHeaderBytes, maxConcurrentStreams: limits.maxConcurrentStreams },
    maxSendHeaderBlockLength: limits.maxHeaderBytes,
  };
}
