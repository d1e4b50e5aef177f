import { setMaxListeners } from "node:events";
import type http from "node:http";
import type http2 from "node:http2";
import { createContextValues, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter, type ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import { clientAddress } from "../origin.js";
import { connectionKey, originKey } from "./context.js";
import { errorMappingInterceptor } from "./errors.js";

/** How the RPC handler reads requests and what it reports. */
export interface RpcHandlerOptions {
  /** Registers the services (registerRpcServices). */
  services: (router: ConnectRouter) => void;
  issuer: string;
  maxMessageBytes: number;
  maxDeadlineMs: number;
  /** Proxies whose X-Forwarded-For is believed. */
  trustedProxies: ReadonlySet<string>;
  /** Reports unexpected errors (logged, never sent). */
  onUnexpected: (err: unknown) => void;
  /** Answers a path no service serves. */
  notFound: (res: Parameters<NonNullable<ConnectNodeAdapterOptions["fallback"]>>[1]) => void;
}

/** The RPC handler and the way to end its open streams. */
export interface RpcHandler {
  handle(req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse): void;
  /** Ends open streams (health Watch), so a shutdown does not wait on them forever. */
  shutdown(): void;
}

/**
 * gRPC, gRPC-Web and Connect through connect-node: every call carries the caller's address
 * and its connection in its context; a path no service serves gets `notFound`.
 */
export function createRpcHandler(options: RpcHandlerOptions): RpcHandler {
  const shutdown = new AbortController();
  // connect-node adds one listener per call in flight; thousands are normal here.
  setMaxListeners(0, shutdown.signal);
  const handle = connectNodeAdapter({
    routes: options.services,
    shutdownSignal: shutdown.signal,
    readMaxBytes: options.maxMessageBytes,
    maxTimeoutMs: options.maxDeadlineMs,
    interceptors: [errorMappingInterceptor(options.issuer, options.onUnexpected)],
    contextValues: (req) =>
      createContextValues()
        .set(originKey, clientAddress(req.socket.remoteAddress, req.headers["x-forwarded-for"], options.trustedProxies))
        .set(connectionKey, "stream" in req ? req.stream.session : req.socket),
    fallback: (_req, res) => options.notFound(res),
  });
  return { handle, shutdown: () => shutdown.abort() };
}
