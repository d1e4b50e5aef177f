import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { ByteQueue } from "../byte-queue.js";

type NodeRequest = IncomingMessage | Http2ServerRequest;
type Chunks = AsyncIterable<Buffer>;

// gRPC, gRPC-Web and Connect streaming bodies are sequences of messages, each behind a 5-byte
// prefix (flags, then the length as a big-endian uint32); Connect unary bodies are one message.
const PREFIX = 5;

function isEnveloped(contentType: string | undefined): boolean {
  return contentType !== undefined && (contentType.startsWith("application/grpc") || contentType.startsWith("application/connect+"));
}

/**
 * Makes connect-node read the body of `req` one whole message at a time, however finely the
 * client split it. connect's envelope decoder re-sums the lengths of every chunk it holds on
 * each chunk it receives (the `byteLength` getter of its EnvelopeDecoderImpl), so a message
 * sent as n one-byte HTTP/2 DATA frames or HTTP/1.1 chunks costs it O(n²) CPU; and each chunk
 * costs a few promise hops through its readers. Regrouped here in linear time, every message
 * reaches it as one chunk. connect-node reads a request by async iteration, so this replaces
 * that iterator on this one request object; the stream, its errors and its flow control stay
 * Node's. Messages over `maxMessageBytes` are passed on as they come, for connect-node to
 * refuse from the length it reads.
 */
export function readWholeMessages(req: NodeRequest, maxMessageBytes: number): void {
  const r = req as unknown as { [Symbol.asyncIterator]: () => AsyncIterator<Buffer> };
  const chunks = r[Symbol.asyncIterator];
  const source: Chunks = { [Symbol.asyncIterator]: () => chunks.call(req) };
  const regroup = isEnveloped(req.headers["content-type"]) ? messages : wholeBody;
  r[Symbol.asyncIterator] = () => regroup(source, maxMessageBytes);
}

/** Yields each length-prefixed message whole, as soon as its last byte arrives (streams keep streaming). */
async function* messages(source: Chunks, max: number): AsyncGenerator<Buffer> {
  const queue = new ByteQueue();
  let size = 0; // of the message at the head of the queue, prefix included; 0 until its prefix is in
  let passThrough = false;
  for await (const chunk of source) {
    if (passThrough) {
      yield chunk;
      continue;
    }
    queue.push(chunk);
    for (;;) {
      if (size === 0) {
        if (queue.length < PREFIX) break;
        const length = queue.uint32At(1);
        if (length > max) {
          // connect-node refuses the call from this prefix (RESOURCE_EXHAUSTED); never buffer it.
          passThrough = true;
          yield queue.takeAll();
          break;
        }
        size = PREFIX + length;
      }
      if (queue.length < size) break;
      yield queue.take(size);
      size = 0;
    }
  }
  // A truncated message: connect-node reports the incomplete envelope.
  if (queue.length > 0) yield queue.takeAll();
}

/** Yields the body as one chunk at its end (a unary Connect request is needed whole anyway). */
async function* wholeBody(source: Chunks, max: number): AsyncGenerator<Buffer> {
  const queue = new ByteQueue();
  let passThrough = false;
  for await (const chunk of source) {
    if (passThrough) {
      yield chunk;
      continue;
    }
    queue.push(chunk);
    if (queue.length > max) {
      // Over the limit: connect-node refuses it on this chunk; stop holding bytes.
      passThrough = true;
      yield queue.takeAll();
    }
  }
  if (queue.length > 0) yield queue.takeAll();
}
