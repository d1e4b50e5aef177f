import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, type ContextValues, createContextValues } from "@connectrpc/connect";
import {
  createAsyncIterable,
  encodeEnvelope,
  readAllBytes,
  type UniversalHandler,
  type UniversalHandlerFn,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import { codeToHttpStatus, errorFromJsonBytes, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { findTrailerError, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { implementationAnsweredKey } from "./context.js";

// connect decodes a binary request message with protobuf-es and turns any failure into
// INTERNAL "parse binary: <reason>" (its createBinarySerialization), before any interceptor
// runs. A server decodes nothing but request messages, so on a server that answer always means
// that the caller sent bytes that are not the method's request message: the caller's error,
// INVALID_ARGUMENT, as connect already answers a malformed JSON body and as connect-go answers
// both. connect's own text is matched because it is the only trace the failure leaves; the
// version is pinned and the end-to-end tests check every protocol's answer.
const PARSE_FAILURE = "parse binary: ";

const GRPC_INTERNAL = String(Code.Internal);

/** Told about each call whose request message could not be decoded (to log and count it as its service would). */
export type UnparsableReporter = (method: DescMethod, values: ContextValues, durationMs: number) => void;

/** Whether `err` is connect's report of a request message it could not decode from protobuf binary. */
function isRequestParseFailure(err: unknown): err is ConnectError {
  return err instanceof ConnectError && err.code === Code.Internal && err.rawMessage.startsWith(PARSE_FAILURE);
}

/** The caller's error for a request message that could not be decoded: INVALID_ARGUMENT with the message's name and protobuf's reason. */
export function notValidMessage(messageName: string, reason: string): ConnectError {
  return new ConnectError(`the request is not a valid ${messageName} (${reason})`, Code.InvalidArgument);
}

/** notValidMessage for connect's own report of the failure to decode `method`'s request. */
function unparsableRequest(method: DescMethod, failure: ConnectError): ConnectError {
  return notValidMessage(method.input.name, failure.rawMessage.slice(PARSE_FAILURE.length));
}

/**
 * A stream's request messages, one that cannot be decoded refused as the caller's error. A
 * stream's messages are decoded while its implementation reads them, so its interceptors see
 * the failure (a unary request is decoded before they run: see answerUnparsableAsInvalid).
 */
export async function* refuseUnparsable<T>(messages: AsyncIterable<T>, method: DescMethod): AsyncGenerator<T> {
  try {
    yield* messages;
  } catch (err) {
    throw isRequestParseFailure(err) ? unparsableRequest(method, err) : err;
  }
}

/**
 * The handler of a unary method, with the INTERNAL answers connect gives outside any
 * interceptor restated in the answer's own protocol (Connect, gRPC, gRPC-Web): a request
 * message it could not decode becomes INVALID_ARGUMENT (HTTP 400 for Connect) and is reported;
 * a failure after the implementation answered (serialising the response) stays INTERNAL, is
 * logged as a fault of ours, and its cause is not sent. Every other answer passes untouched,
 * at the cost of one comparison (Connect, gRPC) or one look at the first body chunk (gRPC-Web).
 */
export function answerUnparsableAsInvalid(
  handler: UniversalHandler,
  onUnparsable: UnparsableReporter,
  onUnexpected: (err: unknown) => void,
): UniversalHandlerFn {
  const method = handler.method;
  if (method.methodKind !== "unary") return handler;
  return async (req) => {
    const started = performance.now();
    const res = await handler(req);
    if (!mayCarryInternal(res)) return res;
    return restateInternal(res, (err) => {
      const values = req.contextValues ?? createContextValues();
      if (isRequestParseFailure(err)) {
        onUnparsable(method, values, performance.now() - started);
        return unparsableRequest(method, err);
      }
      if (!values.get(implementationAnsweredKey)) return undefined;
      onUnexpected(err);
      return new ConnectError("internal error", Code.Internal);
    });
  };
}

type Restate = (err: ConnectError) => ConnectError | undefined;

/** Whether an answer may carry an INTERNAL status; checked first, so that a success costs no closure and no further promise. */
function mayCarryInternal(res: UniversalServerResponse): boolean {
  if (res.trailer !== undefined) return res.trailer.get("grpc-status") === GRPC_INTERNAL;
  return res.status === 500 || res.header?.get("content-type")?.startsWith("application/grpc-web") === true;
}

/** The answer of a finished unary handler with its INTERNAL error, if any, replaced by `restate`'s. */
async function restateInternal(res: UniversalServerResponse, restate: Restate): Promise<UniversalServerResponse> {
  // gRPC: the status travels in the HTTP trailers, which a unary handler has set once it answered.
  if (res.trailer !== undefined) {
    if (res.trailer.get("grpc-status") === GRPC_INTERNAL) restateTrailer(res.trailer, restate);
    return res;
  }
  const type = res.header?.get("content-type") ?? "";
  // Connect unary: an error is a JSON body under the code's HTTP status, 500 for INTERNAL.
  if (res.status === 500 && type.startsWith("application/json")) return restateConnectUnary(res, restate);
  // gRPC-Web: the status is a trailer frame in the body; a call that failed before answering sends only that.
  if (type.startsWith("application/grpc-web")) return restateGrpcWeb(res, restate);
  return res;
}

/** Replaces the status in gRPC trailers (HTTP trailers or a gRPC-Web trailer frame's); true if it did. */
function restateTrailer(trailer: Headers, restate: Restate): boolean {
  const err = findTrailerError(trailer);
  const next = err && restate(err);
  if (next) setTrailerStatus(trailer, next);
  return next !== undefined;
}

async function restateConnectUnary(res: UniversalServerResponse, restate: Restate): Promise<UniversalServerResponse> {
  // Error bodies are compressed only above compressMinBytes (1 KiB); connect's are far smaller.
  if (res.body === undefined || res.header?.has("content-encoding")) return res;
  const bytes = await readAllBytes(res.body, Number.MAX_SAFE_INTEGER);
  const unchanged = { ...res, body: createAsyncIterable([bytes]) };
  let err: ConnectError;
  try {
    err = errorFromJsonBytes(bytes, undefined, new ConnectError("not a Connect error body", Code.Unknown));
  } catch {
    // Not an error connect wrote: sent as it is.
    return unchanged;
  }
  const next = restate(err);
  if (next === undefined) return unchanged;
  const body = errorToJsonBytes(next, {});
  res.header?.set("content-length", String(body.byteLength));
  return { ...res, status: codeToHttpStatus(next.code), body: createAsyncIterable([body]) };
}

async function restateGrpcWeb(res: UniversalServerResponse, restate: Restate): Promise<UniversalServerResponse> {
  if (res.body === undefined) return res;
  const rest = res.body[Symbol.asyncIterator]();
  const first = await rest.next();
  let head = first.done ? undefined : first.value;
  // connect writes each frame as one chunk: 1 flag byte, a 4-byte length, the data.
  if (head !== undefined && head[0] === trailerFlag && head.byteLength >= 5) {
    const length = new DataView(head.buffer, head.byteOffset, head.byteLength).getUint32(1);
    const trailer = trailerParse(head.subarray(5, 5 + length));
    if (trailer.get("grpc-status") === GRPC_INTERNAL && restateTrailer(trailer, restate))
      head = encodeEnvelope(trailerFlag, trailerSerialize(trailer));
  }
  return { ...res, body: replay(head, rest) };
}

/** `rest` with `head` in front again; return() and throw() still reach `rest` (they end connect's call). */
function replay(head: Uint8Array | undefined, rest: AsyncIterator<Uint8Array>): AsyncIterable<Uint8Array> {
  let pending = head;
  const it: AsyncIterator<Uint8Array> = {
    next() {
      if (pending === undefined) return rest.next();
      const value = pending;
      pending = undefined;
      return Promise.resolve({ done: false, value });
    },
    return: (value?: unknown) => rest.return?.(value) ?? Promise.resolve({ done: true, value: undefined }),
    throw: (e?: unknown) => rest.throw?.(e) ?? Promise.reject(e),
  };
  return { [Symbol.asyncIterator]: () => it };
}
