import type http2 from "node:http2";
import net from "node:net";

// Clients that split a request body as finely as the protocol allows: one byte per HTTP/2 DATA
// frame, or one byte per HTTP/1.1 chunk. Every write waits for the previous one to be flushed,
// since node:http2 merges writes that are queued together into one frame; a proxy between
// client and server reads the frames off the wire, so a test can check what was really sent.

/** A TCP proxy to `port` that records the payload size of every HTTP/2 DATA frame the client sends. */
export interface FrameCountingProxy {
  port: number;
  /** DATA frame payload sizes seen since the last reset, in order. */
  dataFrames: number[];
  reset(): void;
  close(): Promise<void>;
}

const PREFACE_LENGTH = 24; // RFC 9113 §3.4
const FRAME_HEADER = 9; // RFC 9113 §4.1
const DATA = 0x0;

/** Starts a frame-counting proxy in front of the server on `port` (loopback). */
export async function frameCountingProxy(port: number): Promise<FrameCountingProxy> {
  const p = { dataFrames: [] as number[] };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on("error", () => {});
      s.on("close", () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    let pending = Buffer.alloc(0);
    let prefaceSeen = false;
    client.on("data", (d: Buffer) => {
      upstream.write(d);
      pending = Buffer.concat([pending, d]);
      if (!prefaceSeen) {
        if (pending.length < PREFACE_LENGTH) return;
        pending = pending.subarray(PREFACE_LENGTH);
        prefaceSeen = true;
      }
      while (pending.length >= FRAME_HEADER) {
        const length = pending.readUIntBE(0, 3);
        if (pending.length < FRAME_HEADER + length) break;
        if (pending[3] === DATA) p.dataFrames.push(length);
        pending = pending.subarray(FRAME_HEADER + length);
      }
    });
    upstream.on("data", (d: Buffer) => client.write(d));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get dataFrames() {
      return p.dataFrames;
    },
    reset: () => {
      p.dataFrames = [];
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** What a fragmented request got back. */
export interface FragmentedAnswer {
  status: number | undefined;
  /** grpc-status from the headers or trailers (or gRPC-Web's trailer message), when there was one. */
  grpcStatus: string | undefined;
}

// gRPC-Web sends its trailers as a last length-prefixed message whose flags byte has the high bit.
function grpcWebStatus(body: Buffer): string | undefined {
  for (let i = 0; i + 5 <= body.length; i += 5 + body.readUInt32BE(i + 1)) {
    if (body[i]! & 0x80)
      return /^grpc-status:\s*(\d+)/im.exec(body.subarray(i + 5, i + 5 + body.readUInt32BE(i + 1)).toString("latin1"))?.[1];
  }
  return undefined;
}

/**
 * Sends `body` on a new stream of `session`, as one DATA frame (`oneByteFrames` false) or as
 * one DATA frame per byte, and resolves when the answer is complete.
 */
export async function h2Fragmented(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body: Buffer,
  oneByteFrames: boolean,
): Promise<FragmentedAnswer> {
  const stream = session.request({ ":method": "POST", ...headers });
  const out: FragmentedAnswer = { status: undefined, grpcStatus: undefined };
  stream.on("response", (h) => {
    out.status = h[":status"];
    if (h["grpc-status"] !== undefined) out.grpcStatus = String(h["grpc-status"]);
  });
  stream.on("trailers", (h) => {
    if (h["grpc-status"] !== undefined) out.grpcStatus = String(h["grpc-status"]);
  });
  const received: Buffer[] = [];
  stream.on("data", (d: Buffer) => received.push(d));
  const closed = new Promise<void>((resolve, reject) => {
    stream.on("close", () => {
      if (String(headers["content-type"]).startsWith("application/grpc-web")) out.grpcStatus ??= grpcWebStatus(Buffer.concat(received));
      resolve();
    });
    stream.on("error", reject);
  });
  if (oneByteFrames) {
    for (let i = 0; i < body.length && !stream.closed; i++) {
      await new Promise<void>((resolve) => stream.write(body.subarray(i, i + 1), () => resolve()));
    }
    stream.end();
  } else {
    stream.end(body);
  }
  await closed;
  return out;
}

/**
 * Sends `body` to `path` over HTTP/1.1 with chunked transfer coding, one byte per chunk (or
 * all in one chunk), on a fresh connection; resolves with the status code.
 */
export async function http1Chunked(port: number, path: string, contentType: string, body: Buffer, oneByteChunks: boolean): Promise<number> {
  const socket = net.connect(port, "127.0.0.1");
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  let answer = "";
  socket.on("data", (d: Buffer) => (answer += d.toString("latin1")));
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  const write = (b: Buffer | string) => new Promise<void>((resolve) => socket.write(b, () => resolve()));
  await write(
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${contentType}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
  );
  if (oneByteChunks) {
    for (let i = 0; i < body.length; i++) await write(Buffer.concat([Buffer.from("1\r\n"), body.subarray(i, i + 1), Buffer.from("\r\n")]));
  } else {
    await write(Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from("\r\n")]));
  }
  await write("0\r\n\r\n");
  await closed;
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
}
