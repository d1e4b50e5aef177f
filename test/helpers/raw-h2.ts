import net from "node:net";
import { within } from "./eventually.js";

// HTTP/2 frames written by hand, for what node:http2's client never sends: a stream reset with
// RST_STREAM while its body is still open (its close() sends END_STREAM first), exactly as a
// client that gives up mid-upload does on the wire.

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PING = 0x6;
const GOAWAY = 0x7;
// Flags, and an error code.
const END_HEADERS = 0x4;
const ACK = 0x1;
const CANCEL = 0x8;

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

// RFC 7541 §5.1 integer with an n-bit prefix.
function integer(value: number, prefixBits: number, firstByte: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([firstByte | value]);
  const out = [firstByte | max];
  for (value -= max; value >= 128; value = Math.floor(value / 128)) out.push((value % 128) | 128);
  out.push(value);
  return Buffer.from(out);
}

// RFC 7541 §6.2.2: literal header field without indexing, new name, no Huffman coding.
function literal(name: string, value: string): Buffer {
  return Buffer.concat([
    Buffer.from([0]),
    integer(name.length, 7, 0),
    Buffer.from(name),
    integer(Buffer.byteLength(value), 7, 0),
    Buffer.from(value),
  ]);
}

/** The header block of a POST to `path` on loopback, with `headers` after the pseudo-headers. */
function requestHeaders(path: string, headers: Record<string, string>): Buffer {
  return Buffer.concat([
    literal(":method", "POST"),
    literal(":scheme", "http"),
    literal(":authority", "127.0.0.1"),
    literal(":path", path),
    ...Object.entries(headers).map(([k, v]) => literal(k, v)),
  ]);
}

/**
 * Opens a connection to the server on loopback `port`, starts one POST stream with `headers`
 * and sends `body` without ending the stream; once the server has read it, resets the stream
 * with RST_STREAM(CANCEL), and once the server has read the reset, closes the connection.
 */
export async function h2ResetMidBody(port: number, path: string, headers: Record<string, string>, body: Buffer): Promise<void> {
  const c = await rawH2Connection(port);
  await c.send(Buffer.concat([frame(HEADERS, END_HEADERS, 1, requestHeaders(path, headers)), frame(DATA, 0, 1, body)]));
  await c.sync();
  const code = Buffer.alloc(4);
  code.writeUInt32BE(CANCEL);
  await c.send(frame(RST_STREAM, 0, 1, code));
  await c.sync();
  c.close();
}

/**
 * Like h2ResetMidBody, but the client closes the whole connection instead of resetting the
 * stream: the server sees the stream end with its connection.
 */
export async function h2HangupMidBody(port: number, path: string, headers: Record<string, string>, body: Buffer): Promise<void> {
  const c = await rawH2Connection(port);
  await c.send(Buffer.concat([frame(HEADERS, END_HEADERS, 1, requestHeaders(path, headers)), frame(DATA, 0, 1, body)]));
  await c.sync();
  c.close();
}

/** A hand-driven HTTP/2 connection: opens streams with HEADERS only, and records how the server ends them. */
export interface RawH2Connection {
  /** Opens stream `id` (odd, increasing) as a POST to `path`, sending HEADERS without END_STREAM. */
  open(id: number, path: string, headers?: Record<string, string>): void;
  /** Writes frames as they are; resolves once they are handed to the socket. */
  send(frames: Buffer): Promise<void>;
  /**
   * A PING round trip: resolves once the server has read every frame sent before it (RFC 9113
   * §6.7: frames are processed in order, and a PING is answered as soon as it is read).
   */
  sync(): Promise<void>;
  /** RST_STREAM error codes received, by stream id. */
  resets: Map<number, number>;
  /** The GOAWAY the server sent, if any: the last stream it accepted and the error code. */
  goaway: { lastStreamId: number; code: number } | undefined;
  /** The SETTINGS the server sent (identifier -> value). */
  settings: Map<number, number>;
  /** Resolves once `pred` holds for what was received; fails after `ms` naming `what` was awaited. */
  until(what: string, pred: () => boolean, ms?: number): Promise<void>;
  close(): void;
}

/** Connects to the server on loopback `port`, exchanges prefaces and acknowledges its SETTINGS. */
export async function rawH2Connection(port: number): Promise<RawH2Connection> {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const resets = new Map<number, number>();
  const settings = new Map<number, number>();
  const pingsAcked = new Set<string>();
  const changed = new Set<() => void>();
  let pending = Buffer.alloc(0);
  socket.on("data", (d: Buffer) => {
    pending = Buffer.concat([pending, d]);
    while (pending.length >= 9 && pending.length >= 9 + pending.readUIntBE(0, 3)) {
      const length = pending.readUIntBE(0, 3);
      const [type, flags] = [pending[3]!, pending[4]!];
      const id = pending.readUInt32BE(5) & 0x7fffffff;
      const payload = pending.subarray(9, 9 + length);
      pending = pending.subarray(9 + length);
      if (type === SETTINGS && !(flags & ACK)) {
        for (let i = 0; i + 6 <= payload.length; i += 6) settings.set(payload.readUInt16BE(i), payload.readUInt32BE(i + 2));
        socket.write(frame(SETTINGS, ACK, 0, Buffer.alloc(0)));
      } else if (type === PING && flags & ACK) {
        pingsAcked.add(payload.toString("hex"));
      } else if (type === RST_STREAM) {
        resets.set(id, payload.readUInt32BE(0));
      } else if (type === GOAWAY) {
        conn.goaway = { lastStreamId: payload.readUInt32BE(0) & 0x7fffffff, code: payload.readUInt32BE(4) };
      }
    }
    for (const f of changed) f();
  });
  const send = (b: Buffer) => new Promise<void>((resolve) => socket.write(b, () => resolve()));
  let pings = 0;
  await send(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0, Buffer.alloc(0))]));
  const conn: RawH2Connection = {
    goaway: undefined,
    open(id, path, headers = {}) {
      socket.write(frame(HEADERS, END_HEADERS, id, requestHeaders(path, headers)));
    },
    send,
    async sync() {
      const payload = Buffer.alloc(8);
      payload.writeUInt32BE(++pings, 4);
      await send(frame(PING, 0, 0, payload));
      await conn.until("the server to acknowledge a PING (it has read every frame before it)", () =>
        pingsAcked.has(payload.toString("hex")),
      );
    },
    resets,
    settings,
    until: (what, pred, ms = 10_000) => {
      if (pred()) return Promise.resolve();
      let check = () => undefined as void;
      const met = new Promise<void>((resolve) => {
        check = () => {
          if (!pred()) return;
          changed.delete(check);
          resolve();
        };
        changed.add(check);
      });
      return within(what, met, ms).finally(() => changed.delete(check));
    },
    close: () => socket.destroy(),
  };
  return conn;
}
