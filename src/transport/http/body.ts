import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";

/** Thrown when a request body exceeds the configured limit. */
export class BodyTooLargeError extends Error {
  override readonly name = "BodyTooLargeError";
}

/** The client closed the connection or reset the stream before its body was complete: nobody to answer, no fault of ours. */
export class ClientAbortedError extends Error {
  override readonly name = "ClientAbortedError";
}

type NodeRequest = IncomingMessage | Http2ServerRequest;

// HTTP/1.1: Node reports a connection closed mid-body as ECONNRESET ("aborted"). HTTP/2: the
// client reset the stream (RST_STREAM) before ending it, or the request timeout closed it;
// Node then still ends the request, on a stream already closed.
function aborted(req: NodeRequest, err?: NodeJS.ErrnoException): boolean {
  if (err?.code === "ECONNRESET" || err?.code === "ERR_STREAM_PREMATURE_CLOSE") return true;
  return "stream" in req && (req.stream.aborted || req.stream.closed);
}

/**
 * Reads a request body up to `limit` bytes, then calls `done` once; stops reading (bounded
 * memory) past the limit, and fails with ClientAbortedError when the client goes away before
 * the end. A callback rather than a Promise: it runs on every token request.
 */
export function readBody(req: NodeRequest, limit: number, done: (err: Error | undefined, body: Buffer) => void): void {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > limit) {
    done(new BodyTooLargeError(`body is larger than ${limit} bytes`), EMPTY);
    return;
  }
  let first: Buffer | undefined;
  let more: Buffer[] | undefined;
  let size = 0;
  let settled = false;
  const settle = (err: Error | undefined, body: Buffer) => {
    if (settled) return;
    settled = true;
    done(err, body);
  };
  req.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (size > limit) {
      req.removeAllListeners("data");
      req.pause();
      settle(new BodyTooLargeError(`body is larger than ${limit} bytes`), EMPTY);
      return;
    }
    if (first === undefined) first = chunk;
    else {
      more ??= [first];
      more.push(chunk);
    }
  });
  req.on("end", () => {
    if (aborted(req)) settle(new ClientAbortedError("the client reset the stream before the body was complete"), EMPTY);
    else settle(undefined, more ? Buffer.concat(more) : (first ?? EMPTY));
  });
  req.on("error", (err: NodeJS.ErrnoException) => settle(aborted(req, err) ? new ClientAbortedError(err.message) : err, EMPTY));
}

const EMPTY = Buffer.alloc(0);
