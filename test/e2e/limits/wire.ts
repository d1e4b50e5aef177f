import http2 from "node:http2";
import net from "node:net";
import { fromBinary } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "../../../gen/google/rpc/status_pb.js";

// Clients that say exactly what a hostile caller says, byte for byte, for the limits and
// hostile-input suites: a raw TCP HTTP/1.1 exchange, an h2 stream, and a grpc-js call that
// keeps the trailers. Every wait ends at the event it waits for (an answer, a close); the bounds
// (ANSWER_MS) only turn a server that never answers into a failure that says so.

/**
 * How long to wait for an answer or a close that normally comes within milliseconds: long
 * enough for a loaded machine, short enough to fail inside the test's own timeout.
 */
export const ANSWER_MS = 15_000;

/** What a raw HTTP/1.1 exchange produced. */
export interface RawAnswer {
  /** 0 when nothing parseable came back. */
  status: number;
  /** Header lines as sent, in order (names lower-cased). */
  headers: [string, string][];
  body: Buffer;
  /** Everything received, byte for byte. */
  bytes: Buffer;
  /** Whether the server closed the connection within the wait. */
  closed: boolean;
}

/** The value of header `name` in a raw answer (first one), or undefined. */
export function header(a: RawAnswer, name: string): string | undefined {
  return a.headers.find(([k]) => k === name)?.[1];
}

/** Opens a TCP connection to the server on loopback, from `localAddress` (another loopback address, say) when given. */
export async function connect(port: number, localAddress?: string): Promise<net.Socket> {
  const socket = net.connect({ port, host: "127.0.0.1", ...(localAddress ? { localAddress } : {}) });
  socket.on("error", () => {}); // resets are an expected answer here
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return socket;
}

/** Resolves true once `socket` is closed by the server, false if it is still open after `ms`. */
export function closedWithin(socket: net.Socket, ms: number): Promise<boolean> {
  if (socket.destroyed || socket.readyState === "closed") return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Sends `bytes` on a fresh connection and collects the answer until the server closes the
 * connection or `waitMs` passes (then the client closes it). Send `Connection: close` to get
 * the answer as soon as it is complete.
 */
export async function rawExchange(port: number, bytes: string | Buffer, waitMs = ANSWER_MS, localAddress?: string): Promise<RawAnswer> {
  const socket = await connect(port, localAddress);
  const chunks: Buffer[] = [];
  socket.on("data", (d: Buffer) => chunks.push(d));
  socket.write(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes);
  const closed = await closedWithin(socket, waitMs);
  socket.destroy();
  return { ...parseResponse(Buffer.concat(chunks)), closed };
}

/** Parses one HTTP/1.1 response (status line, headers, Content-Length body). */
export function parseResponse(bytes: Buffer): Omit<RawAnswer, "closed"> {
  const end = bytes.indexOf("\r\n\r\n");
  if (end < 0) return { status: 0, headers: [], body: Buffer.alloc(0), bytes };
  const lines = bytes.subarray(0, end).toString("latin1").split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "")?.[1] ?? 0);
  const headers = lines.slice(1).map((l): [string, string] => {
    const colon = l.indexOf(":");
    return [l.slice(0, colon).trim().toLowerCase(), l.slice(colon + 1).trim()];
  });
  const length = headers.find(([k]) => k === "content-length")?.[1];
  const rest = bytes.subarray(end + 4);
  return { status, headers, body: length === undefined ? rest : rest.subarray(0, Number(length)), bytes };
}

/** A POST /oauth/token (or `path`) request as raw bytes, with `Connection: close`. */
export function rawPost(
  body: string | Buffer,
  headerLines: string[] = ["Content-Type: application/x-www-form-urlencoded"],
  path = "/oauth/token",
): Buffer {
  const b = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  const head = [
    `POST ${path} HTTP/1.1`,
    "Host: 127.0.0.1",
    "Connection: close",
    ...headerLines,
    `Content-Length: ${b.length}`,
    "",
    "",
  ].join("\r\n");
  return Buffer.concat([Buffer.from(head, "latin1"), b]);
}

/** What one HTTP/2 stream produced. */
export interface H2Answer {
  status: number | undefined;
  headers: http2.IncomingHttpHeaders;
  body: string;
  /** RST_STREAM / GOAWAY code the stream ended with (0 = NO_ERROR). */
  rstCode: number | undefined;
  error: string | undefined;
}

/** Runs one request on an h2 session; resolves when the stream closes or after `waitMs`. */
export function h2Exchange(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: string | Buffer,
  waitMs = ANSWER_MS,
): Promise<H2Answer> {
  return new Promise((resolve) => {
    const out: H2Answer = { status: undefined, headers: {}, body: "", rstCode: undefined, error: undefined };
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(headers, { endStream: body === undefined });
    } catch (err) {
      resolve({ ...out, error: (err as Error).message });
      return;
    }
    const timer = setTimeout(() => {
      out.error = "no answer in time";
      stream.close();
      resolve(out);
    }, waitMs);
    stream.on("response", (h) => {
      out.headers = h;
      out.status = h[":status"];
    });
    stream.setEncoding("utf8");
    stream.on("data", (d: string) => (out.body += d));
    stream.on("error", (e) => (out.error = e.message));
    const done = () => {
      clearTimeout(timer);
      out.rstCode ??= stream.rstCode;
      resolve(out);
    };
    stream.on("close", done);
    // A whole answer may come while the client is still sending (a refused large body): the
    // server then ends the stream with RST_STREAM(NO_ERROR) (RFC 9113 §8.1), but Node's client
    // keeps such a stream open while its own writes are pending. The answer is complete at
    // "end", so stop sending there.
    stream.on("end", () => {
      // Only then: resetting every finished stream would look like a rapid-reset attack
      // (CVE-2023-44487) and Node ends the session.
      if (!stream.closed && !stream.writableFinished) stream.close(http2.constants.NGHTTP2_CANCEL);
      done();
    });
    if (body !== undefined) stream.end(body);
  });
}

/** The answer of a grpc-js unary call, success or failure, with the trailers. */
export type GrpcAnswer<T> =
  | { ok: true; response: T }
  | { ok: false; code: grpc.status; details: string; reason: string | undefined; trailers: Record<string, string> };

/**
 * The deadline of a call that does not choose one: long enough for a loaded machine, so a
 * call fails on its answer and not on the clock (the server's default cap is 5 minutes).
 */
export const CALL_DEADLINE_MS = 60_000;

/** Calls a unary method with grpc-js; never rejects. */
export function grpcCall<T = Record<string, unknown>>(
  client: grpc.Client,
  method: string,
  request: object,
  opts: { metadata?: Record<string, string>; deadlineMs?: number } = {},
): Promise<GrpcAnswer<T>> {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(opts.metadata ?? {})) md.set(k, v);
  return new Promise((resolve) => {
    (client as unknown as Record<string, Function>)[method]!.call(
      client,
      request,
      md,
      { deadline: Date.now() + (opts.deadlineMs ?? CALL_DEADLINE_MS) },
      (err: grpc.ServiceError | null, res: T) => {
        if (!err) return resolve({ ok: true, response: res });
        const trailers: Record<string, string> = {};
        let reason: string | undefined;
        for (const [k, v] of Object.entries(err.metadata?.getMap() ?? {})) {
          if (k === "grpc-status-details-bin" && v instanceof Buffer) {
            for (const d of fromBinary(StatusSchema, v).details) reason = anyUnpack(d, ErrorInfoSchema)?.reason ?? reason;
          } else {
            trailers[k] = String(v);
          }
        }
        resolve({ ok: false, code: err.code, details: decodeReserved(err.details), reason, trailers });
      },
    );
  });
}

/**
 * grpc-js decodes grpc-message with decodeURI, which leaves the escapes of reserved characters
 * (%3A for ":" and so on); this finishes the job without choking on a literal "%".
 */
function decodeReserved(details: string): string {
  return details.replace(/%(2[346BCF]|3[ABDF]|40)/gi, (m) => decodeURIComponent(m));
}

/** A gRPC length-prefixed message (uncompressed) around raw protobuf bytes. */
export function grpcFrame(message: Buffer | Uint8Array, compressed = false): Buffer {
  const b = Buffer.alloc(5 + message.length);
  b[0] = compressed ? 1 : 0;
  b.writeUInt32BE(message.length, 1);
  Buffer.from(message).copy(b, 5);
  return b;
}

/** What a raw gRPC call over h2 produced: HTTP status, grpc-status and the decoded message. */
export interface RawGrpcAnswer {
  httpStatus: number | undefined;
  grpcStatus: number | undefined;
  grpcMessage: string;
  error: string | undefined;
}

/** Posts raw gRPC bytes to `path` on a fresh h2c session (for input grpc-js would not send). */
export async function rawGrpc(url: string, path: string, body: Buffer, extraHeaders: Record<string, string> = {}): Promise<RawGrpcAnswer> {
  const session = http2.connect(url);
  session.on("error", () => {});
  const out: RawGrpcAnswer = { httpStatus: undefined, grpcStatus: undefined, grpcMessage: "", error: undefined };
  try {
    await new Promise<void>((resolve) => {
      const stream = session.request({
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc",
        te: "trailers",
        ...extraHeaders,
      });
      const timer = setTimeout(() => {
        out.error = "no answer in time";
        stream.close();
        resolve();
      }, ANSWER_MS);
      const take = (h: http2.IncomingHttpHeaders) => {
        if (h["grpc-status"] !== undefined) out.grpcStatus = Number(h["grpc-status"]);
        if (h["grpc-message"] !== undefined) out.grpcMessage = decodeURIComponent(String(h["grpc-message"]));
      };
      stream.on("response", (h) => {
        out.httpStatus = h[":status"];
        take(h);
      });
      stream.on("trailers", take);
      stream.on("error", (e) => (out.error = e.message));
      stream.resume();
      stream.on("close", () => {
        clearTimeout(timer);
        resolve();
      });
      stream.end(body);
    });
  } finally {
    session.destroy();
  }
  return out;
}

/** A fetch answer read whole: status, headers, text and (when JSON) the parsed body. */
export interface FetchAnswer {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown> | undefined;
}

/** POSTs a form (or any body with `content-type` in `headers`) with fetch over HTTP/1.1. */
export async function formPost(
  url: string,
  form: Record<string, string> | [string, string][] | string,
  headers: Record<string, string> = {},
): Promise<FetchAnswer> {
  const body = typeof form === "string" ? form : new URLSearchParams(form).toString();
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body,
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}
