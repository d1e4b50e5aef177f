import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";

const { NGHTTP2_NO_ERROR, NGHTTP2_CANCEL } = http2.constants;

/**
 * The request timeout for HTTP/2, per stream: a stream whose request (headers and body) has not
 * fully arrived `timeoutMs` after it opened is answered and closed, as Node's HTTP/1.1 server
 * answers 408 and closes the connection. Without it a client trickling one byte every few
 * seconds kept a stream, and its handler, open for as long as it liked: the session's idle
 * timeout sees the trickle as activity. Streams whose request is complete are never touched,
 * however long their answer takes (health Watch).
 *
 * Cheap on the hot path: `track` only appends the stream to an array. A sweep every
 * `min(1 s, timeoutMs / 4)` drops the streams that have finished or received their whole
 * request (almost all of them, at the first sweep) and times out the others once they are old
 * enough, so a stream is timed out at most one sweep period late.
 */
export class StreamDeadlines {
  /** Streams opened since the last sweep, and the content type each one's request declared. */
  #arrived: ServerHttp2Stream[] = [];
  #types: (string | undefined)[] = [];
  /** Streams still receiving their request at a sweep: when first seen, and the content type. */
  #receiving = new Map<ServerHttp2Stream, { since: number; type: string | undefined }>();
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly timeoutMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    // Background work: it must not keep the process alive.
    this.#timer = setInterval(() => this.sweep(), Math.min(1000, Math.max(10, timeoutMs / 4))).unref();
  }

  /** Starts the clock of a new stream (the server's "stream" event). */
  track(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    this.#arrived.push(stream);
    this.#types.push(headers["content-type"]);
  }

  /** Times out what is due; the interval calls it, tests may too. */
  sweep(): void {
    const now = this.now();
    const arrived = this.#arrived;
    const types = this.#types;
    this.#arrived = [];
    this.#types = [];
    // A stream first seen now arrived at most one period ago: counting from now errs late, never early.
    // types[i] belongs to arrived[i] (track pushes both); i < arrived.length.
    for (let i = 0; i < arrived.length; i++) {
      const s = arrived[i]!;
      if (!received(s)) this.#receiving.set(s, { since: now, type: types[i] });
    }
    for (const [s, { since, type }] of this.#receiving) {
      if (received(s)) this.#receiving.delete(s);
      else if (now - since >= this.timeoutMs) {
        this.#receiving.delete(s);
        try {
          timeOut(s, type, this.timeoutMs);
        } catch {
          // The stream or its session went away during the sweep: nothing left to time out,
          // and a sweep must never throw (it runs on a timer).
        }
      }
    }
  }

  /** Stops the sweeps (the server is closing). */
  stop(): void {
    clearInterval(this.#timer);
  }
}

/** Whether the stream is gone or its whole request has arrived (its body was read to the end). */
function received(s: ServerHttp2Stream): boolean {
  return s.closed || s.destroyed || s.endAfterHeaders || s.readableEnded;
}

/**
 * Answers a stream whose request did not arrive in time (gRPC: DEADLINE_EXCEEDED; anything
 * else: 408, as over HTTP/1.1), then ends it with RST_STREAM(NO_ERROR) so the client stops
 * sending (RFC 9113 §8.1). A stream that has begun its answer is reset instead.
 */
function timeOut(s: ServerHttp2Stream, type: string | undefined, timeoutMs: number): void {
  if (s.headersSent) {
    s.close(NGHTTP2_CANCEL);
    return;
  }
  const message = `the request did not arrive within ${timeoutMs / 1000}s`;
  const grpc = type !== undefined && type.startsWith("application/grpc");
  s.respond(
    grpc
      ? {
          ":status": 200,
          "content-type": type.startsWith("application/grpc-web") ? type : "application/grpc",
          "grpc-status": "4",
          "grpc-message": message,
        }
      : { ":status": 408, "content-length": "0", "cache-control": "no-store" },
    { endStream: true },
  );
  s.close(NGHTTP2_NO_ERROR);
}
