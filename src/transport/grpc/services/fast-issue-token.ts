import { constants, type Http2SecureServer, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { StatusSchema } from "../../../../gen/google/rpc/status_pb.js";
import { IssueTokenRequestSchema, TokenService } from "../../../../gen/tessera/v1/token_service_pb.js";
import { OAuthError } from "../../../core/errors.js";
import { issueToken } from "../../../core/issue-token.js";
import type { TokenRequest } from "../../../core/token-request.js";
import { TokenCall } from "../../../observability/token-call.js";
import { clientAddress } from "../../origin.js";
import { toConnectError } from "../errors.js";
import { decodeIssueTokenRequest, encodeIssueTokenFrame, type IssueTokenFields } from "../issue-token-codec.js";
import { type TokenServiceDeps, toTokenRequest } from "../token-requests.js";
import { notValidMessage } from "../unparsable-requests.js";

/** The one RPC served on the fast path. */
const FAST_PATH = `/${TokenService.typeName}/${TokenService.method.issueToken.name}`;

/** What the fast path needs besides the token service's dependencies. */
export interface FastPathDeps extends TokenServiceDeps {
  maxMessageBytes: number;
  maxDeadlineMs: number;
  trustedProxies: ReadonlySet<string>;
  onUnexpected: (err: unknown) => void;
}

/** How malformed gRPC requests are logged and counted (their answer is the protocol error itself). */
const MALFORMED = new OAuthError("invalid_request", "The gRPC request is malformed");

const { NGHTTP2_NO_ERROR } = constants;
/** What finish is given when the client reset the stream before its request was complete. */
const ABORTED = Symbol("aborted");

// grpc-timeout units (gRPC over HTTP/2 spec), in ms.
const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000_001 };

/**
 * Serves gRPC IssueToken straight on the HTTP/2 stream, for the plain case only: protobuf
 * content, no compression. connect-node's general machinery costs several times the token
 * itself per call (bench/README.md); this path parses the one frame, calls the same core
 * function and observer as every other door, and answers. Anything else (gRPC-Web, Connect,
 * JSON, compression) falls through to connect-node unchanged.
 *
 * It takes over the server's "stream" event: Node's compatibility layer listens there to
 * build request/response objects, and is called for every stream this path does not take.
 */
export function installFastIssueToken(server: Http2Server | Http2SecureServer, deps: FastPathDeps): void {
  const compat = server.listeners("stream") as ((...args: unknown[]) => void)[];
  server.removeAllListeners("stream");
  server.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, ...rest: unknown[]) => {
    if (isPlainGrpcIssueToken(headers)) serve(stream, headers, deps);
    else for (const l of compat) l.call(server, stream, headers, ...rest);
  });
}

function isPlainGrpcIssueToken(h: IncomingHttpHeaders): boolean {
  const type = h["content-type"];
  const encoding = h["grpc-encoding"];
  return (
    h[":path"] === FAST_PATH &&
    h[":method"] === "POST" &&
    (type === "application/grpc" || type === "application/grpc+proto") &&
    (encoding === undefined || encoding === "identity")
  );
}

// long: the whole life of one IssueToken stream on the hot path (deadline, body, answer, trailers)
// in one closure scope, so that a token costs no extra closures or calls per request.
function serve(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, deps: FastPathDeps): void {
  const call = new TokenCall(
    deps.observer,
    "grpc",
    "token",
    clientAddress(stream.session?.socket?.remoteAddress, headers["x-forwarded-for"], deps.trustedProxies),
  );
  let done = false;
  let ended = false; // the request's last byte has arrived
  let timer: NodeJS.Timeout | undefined;
  const finish = (error: unknown, reply?: Buffer) => {
    if (done) return;
    done = true;
    if (timer) clearTimeout(timer);
    report(call, error);
    if (!stream.destroyed && !stream.closed) answer(stream, error, reply, ended, deps);
  };
  // A reset of the stream before the request was complete (the client's RST_STREAM, or ours
  // for a broken frame): nobody is left to answer, and it is not a fault of ours.
  stream.on("error", () => finish(ABORTED));

  let timeout: number | undefined;
  try {
    timeout = requestTimeout(headers["grpc-timeout"], deps.maxDeadlineMs);
  } catch (err) {
    finish(err);
    return;
  }
  if (timeout !== undefined) timer = setTimeout(() => finish(new ConnectError("the deadline expired", Code.DeadlineExceeded)), timeout);

  const frame = new FrameBuffer(deps.maxMessageBytes);
  stream.on("data", (chunk: Buffer) => {
    if (done) return;
    const tooLarge = frame.push(chunk);
    if (tooLarge !== undefined) {
      stream.pause();
      finish(
        new ConnectError(`message size ${tooLarge} is larger than configured readMaxBytes ${deps.maxMessageBytes}`, Code.ResourceExhausted),
      );
    }
  });
  stream.on("end", () => {
    ended = true;
    if (done) return;
    // Reset by the client (RST_STREAM without END_STREAM), or closed by the request timeout:
    // Node still ends the body, but what arrived is not a whole request.
    if (stream.aborted || stream.closed) return finish(ABORTED);
    let request: TokenRequest;
    try {
      request = toTokenRequest(decodeMessage(frame.bytes()), headers.authorization);
    } catch (err) {
      return finish(err);
    }
    request.origin = call.origin;
    call.saw(request.credentials, request.scope);
    issueToken(deps, request).then(
      (res) => finish(undefined, encodeIssueTokenFrame(res)),
      (err: unknown) => finish(err),
    );
  });
}

/** The request's bytes as they arrive, refused from the length prefix once they exceed the limit (bounded memory). */
class FrameBuffer {
  readonly #chunks: Buffer[] = [];
  #size = 0;
  // The length prefix, read once from the first five bytes: work per DATA frame stays
  // constant however finely a client splits the message (a concat per frame was quadratic).
  #declared = -1;

  constructor(private readonly maxMessageBytes: number) {}

  /** Adds a chunk; returns the size to refuse when the message is (or says it will be) too large. */
  push(chunk: Buffer): number | undefined {
    this.#size += chunk.length;
    this.#chunks.push(chunk);
    if (this.#declared < 0 && this.#size >= 5)
      this.#declared = (this.#chunks.length === 1 ? chunk : Buffer.concat(this.#chunks)).readUInt32BE(1);
    if (this.#declared > this.maxMessageBytes) return this.#declared;
    if (this.#size > this.maxMessageBytes + 5) return this.#size - 5;
    return undefined;
  }

  /** Everything received; most messages arrive in one DATA frame, returned without a copy. */
  bytes(): Buffer {
    const only = this.#chunks.length === 1 ? this.#chunks[0] : undefined;
    return only ?? Buffer.concat(this.#chunks);
  }
}

/** Logs and counts the call: a reset or an expired deadline as aborted, a refused frame as a malformed request. */
function report(call: TokenCall, error: unknown): void {
  // Gone (reset) or no longer waiting (past its own deadline, when gRPC clients cancel).
  const aborted = error === ABORTED || (error instanceof ConnectError && error.code === Code.DeadlineExceeded);
  // The ConnectErrors raised here all refuse what the client sent: a bad request, not a fault of ours.
  call.end(error instanceof ConnectError ? MALFORMED : error, aborted);
}

/** Sends the reply, or the error mapped the one way every gRPC answer is. */
function answer(stream: ServerHttp2Stream, error: unknown, reply: Buffer | undefined, ended: boolean, deps: FastPathDeps): void {
  if (reply) respondOk(stream, reply);
  // Protocol errors raised here are already the answer; everything else is mapped the one way.
  else respondError(stream, error instanceof ConnectError ? error : toConnectError(error, deps.issuer, deps.onUnexpected));
  // Answered before the request was complete (too large, deadline): RFC 9113 §8.1 lets the
  // server then end the stream with RST_STREAM(NO_ERROR), so the client stops sending.
  if (!ended) stream.close(NGHTTP2_NO_ERROR);
}

/** The whole request message, in protobuf-es's hands when the hand-written decoder declines it. */
function decodeMessage(body: Buffer): IssueTokenFields {
  const message = unframe(body);
  return decodeIssueTokenRequest(message) ?? decodeGeneric(message);
}

/** Any other encoding of the message, through protobuf-es (its rules, its refusals). */
function decodeGeneric(message: Uint8Array): IssueTokenFields {
  try {
    return fromBinary(IssueTokenRequestSchema, message);
  } catch (err) {
    // A malformed request is the caller's error, answered in the same words as on every other door.
    throw notValidMessage(IssueTokenRequestSchema.name, err instanceof Error ? err.message : String(err));
  }
}

/** The message of a single uncompressed gRPC frame; the errors are worded as connect-node's. */
function unframe(body: Buffer): Uint8Array {
  if (body.length === 0) throw new ConnectError("protocol error: missing input message for unary method", Code.Unimplemented);
  if (body.length < 5 || body.length < 5 + body.readUInt32BE(1)) {
    throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  }
  if (body.length > 5 + body.readUInt32BE(1)) {
    throw new ConnectError("protocol error: received extra input message for unary method", Code.Unimplemented);
  }
  if (body[0] !== 0) throw new ConnectError("received compressed envelope, but do not know how to decompress", Code.Internal);
  return body.subarray(5);
}

/** The grpc-timeout header in ms (undefined: none); a malformed or too long one is refused as connect-node refuses it. */
function requestTimeout(raw: string | string[] | undefined, maxDeadlineMs: number): number | undefined {
  if (raw === undefined) return undefined;
  const m = typeof raw === "string" ? /^(\d{1,8})([HMSmun])$/.exec(raw) : null;
  const unit = m?.[2] === undefined ? undefined : UNIT_MS[m[2]];
  if (m === null || unit === undefined)
    throw new ConnectError(`protocol error: invalid grpc timeout value: ${String(raw)}`, Code.InvalidArgument);
  const timeout = Number(m[1]) * unit;
  if (timeout > maxDeadlineMs) throw new ConnectError(`timeout ${Math.round(timeout)}ms must be <= ${maxDeadlineMs}`, Code.InvalidArgument);
  return timeout;
}

function respondOk(stream: ServerHttp2Stream, frame: Buffer): void {
  stream.respond(
    { ":status": 200, "content-type": "application/grpc+proto", "grpc-accept-encoding": "identity" },
    { waitForTrailers: true },
  );
  stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
  stream.end(frame);
}

/** A trailers-only error answer with the OAuth reason as google.rpc.Status details, as connect-node sends it. */
function respondError(stream: ServerHttp2Stream, err: ConnectError): void {
  const headers: Record<string, string> = {
    ":status": "200",
    "content-type": "application/grpc+proto",
    "grpc-status": String(err.code),
    "grpc-message": percentEncode(err.rawMessage),
  };
  err.metadata.forEach((value, key) => {
    headers[key] = value;
  });
  if (err.details.length > 0) {
    const status = create(StatusSchema, {
      code: err.code,
      message: err.rawMessage,
      details: err.details.map((d) =>
        "desc" in d ? anyPack(d.desc, create(d.desc, d.value)) : { typeUrl: `type.googleapis.com/${d.type}`, value: d.value },
      ),
    });
    headers["grpc-status-details-bin"] = Buffer.from(toBinary(StatusSchema, status)).toString("base64");
  }
  stream.respond(headers, { endStream: true });
}

// gRPC over HTTP/2: grpc-message is percent-encoded, but only outside printable ASCII and '%'
// itself, so every client (grpc-js included) shows it as written.
function percentEncode(s: string): string {
  let out = "";
  for (const byte of Buffer.from(s, "utf8")) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
