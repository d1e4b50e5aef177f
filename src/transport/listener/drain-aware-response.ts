import http from "node:http";

/** What a listener's HTTP/1.1 answers know of its drain. */
export interface DrainSignal {
  /** True from the start of a drain. */
  readonly draining: boolean;
  /** Told when an answer whose headers went out before the drain has finished: its connection may now be idle. */
  keptAliveAnswerFinished(): void;
}

type WriteHead = (this: http.ServerResponse, a?: unknown, b?: unknown, c?: unknown) => http.ServerResponse;
type End = (this: http.ServerResponse, a?: unknown, b?: unknown, c?: unknown) => http.ServerResponse;

/**
 * The HTTP/1.1 response class of a listener that drains: answers whose headers are written
 * during a drain say Connection: close, so their sockets end after them; an answer already
 * promised keep-alive reports its end, so the listener can close the connection it leaves idle.
 * Done where headers are written and answers end rather than by tracking every response: no
 * bookkeeping and no allocation per request, one boolean read.
 */
export function drainAwareResponse(signal: DrainSignal): typeof http.ServerResponse {
  class DrainAwareResponse<Request extends http.IncomingMessage = http.IncomingMessage> extends http.ServerResponse<Request> {}
  const writeHead = http.ServerResponse.prototype.writeHead as WriteHead;
  const end = http.ServerResponse.prototype.end as End;
  const finished = () => signal.keptAliveAnswerFinished();
  // Fixed parameters rather than ...args: an explicit undefined reads as a missing argument in
  // both methods, and no array is allocated per answer.
  const drainingWriteHead: WriteHead = function (a, b, c) {
    if (signal.draining) this.shouldKeepAlive = false;
    return writeHead.call(this, a, b, c);
  };
  const drainingEnd: End = function (a, b, c) {
    if (signal.draining && this.headersSent && this.shouldKeepAlive) this.once("finish", finished);
    return end.call(this, a, b, c);
  };
  Object.defineProperty(DrainAwareResponse.prototype, "writeHead", { value: drainingWriteHead, writable: true, configurable: true });
  Object.defineProperty(DrainAwareResponse.prototype, "end", { value: drainingEnd, writable: true, configurable: true });
  return DrainAwareResponse;
}
