import { setMaxListeners } from "node:events";
import type http from "node:http";
import type http2 from "node:http2";
import { Code, ConnectError, type ConnectRouter, createConnectRouter, createContextValues } from "@connectrpc/connect";
import type { UniversalHandlerFn, UniversalServerRequest } from "@connectrpc/connect/protocol";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import { clientAddress } from "../origin.js";
import { connectionKey, originKey } from "./context.js";
import { errorMappingInterceptor } from "./errors.js";
import { answerUnparsableAsInvalid, type UnparsableReporter } from "./unparsable-requests.js";

type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;
type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;

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
  /** Reports a call refused because its request message is not valid protobuf (reportUnparsable). */
  onUnparsable: UnparsableReporter;
  /** Answers a path no service serves. */
  notFound: (res: NodeResponse) => void;
}

/** The RPC handler and the way to end its open streams. */
export interface RpcHandler {
  handle(req: NodeRequest, res: NodeResponse): void;
  /** Ends open streams (health Watch), so a shutdown does not wait on them forever. */
  shutdown(): void;
}

/**
 * gRPC, gRPC-Web and Connect through connect's router: every call carries the caller's address
 * and its connection in its context; a path no service serves gets `notFound`.
 *
 * This is connect-node's connectNodeAdapter, assembled here from the same public parts
 * (createConnectRouter, universalRequestFromNodeRequest, universalResponseToNodeResponse) with
 * the same defaults, so that each method's handler can be wrapped: connect answers a request
 * message it cannot decode as INTERNAL before any interceptor runs, and only around the handler
 * can that answer become the caller's INVALID_ARGUMENT (answerUnparsableAsInvalid). Decoding
 * the body ahead of connect instead would decode every message twice (and decompress the
 * compressed ones twice); restating connect's rare INTERNAL answer costs a success one look at
 * its status (bench/unparsable-micro.mjs).
 */
export function createRpcHandler(options: RpcHandlerOptions): RpcHandler {
  const shutdown = new AbortController();
  // Each call in flight listens on the shutdown signal; thousands are normal here.
  setMaxListeners(0, shutdown.signal);
  const router = createConnectRouter({
    shutdownSignal: shutdown.signal,
    readMaxBytes: options.maxMessageBytes,
    maxTimeoutMs: options.maxDeadlineMs,
    interceptors: [errorMappingInterceptor(options.issuer, options.onUnexpected)],
    // connectNodeAdapter's default: requests compressed with gzip or brotli are accepted.
    acceptCompression: [compressionGzip, compressionBrotli],
  });
  options.services(router);
  const handlers = new Map<string, UniversalHandlerFn>();
  for (const h of router.handlers) handlers.set(h.requestPath, answerUnparsableAsInvalid(h, options.onUnparsable, options.onUnexpected));

  const contextValues = (req: NodeRequest) =>
    createContextValues()
      .set(originKey, clientAddress(req.socket.remoteAddress, req.headers["x-forwarded-for"], options.trustedProxies))
      .set(connectionKey, "stream" in req ? req.stream.session : req.socket);

  const handle = (req: NodeRequest, res: NodeResponse): void => {
    const handler = handlers.get((req.url ?? "").split("?", 1)[0] ?? "");
    if (handler === undefined) {
      options.notFound(res);
      return;
    }
    let request: UniversalServerRequest;
    try {
      request = universalRequestFromNodeRequest(req, res, undefined, contextValues(req));
    } catch {
      // connect builds the request's URL from its authority (Host or :authority) and throws
      // when there is none, as an HTTP/1.0 request may send, or when it is no host name at all
      // ("a b"): thrown from a request listener, that ended the process.
      badHost(res);
      return;
    }
    handler(request)
      .then((answer) => universalResponseToNodeResponse(answer, res))
      .catch((reason: unknown) => {
        // The client went away before its answer was written: no fault of ours.
        if (ConnectError.from(reason).code !== Code.Aborted) options.onUnexpected(reason);
      });
  };
  return { handle, shutdown: () => shutdown.abort() };
}

/** The answer to an RPC request that names no valid host, in Connect's error format (JSON, readable by any client). */
function badHost(res: NodeResponse): void {
  const body = JSON.stringify({
    code: "invalid_argument",
    message: "the request names no valid host: send a Host header with the server's host name or address",
  });
  res.writeHead(400, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}
