import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";

/** Thrown when a request body exceeds the configured limit. */
export class BodyTooLargeError extends Error {
  override readonly name = "BodyTooLargeError";
}

/**
 * Reads a request body up to `limit` bytes, then calls `done` once; stops reading (bounded
 * memory) past the limit. A callback rather than a Promise: it runs on every token request.
 */
export function readBody(
  req: IncomingMessage | Http2ServerRequest,
  limit: number,
  done: (err: Error | undefined, body: Buffer) => void,
): void {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > limit) return done(new BodyTooLargeError(`body is larger than ${limit} bytes`), EMPTY);
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
    else (more ??= [first]).push(chunk);
  });
  req.on("end", () => settle(undefined, more ? Buffer.concat(more) : (first ?? EMPTY)));
  req.on("error", (err) => settle(err, EMPTY));
}

const EMPTY = Buffer.alloc(0);
