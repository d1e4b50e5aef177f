import type net from "node:net";

/** RFC 9113 §3.4: every HTTP/2 connection starts with this preface. */
export const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** The two servers a cleartext connection can go to. */
export interface ProtocolTargets {
  /** The connection started with the HTTP/2 preface (h2c with prior knowledge, as gRPC clients do). */
  http2(socket: net.Socket): void;
  /** Anything else: HTTP/1.1. */
  http1(socket: net.Socket): void;
}

/**
 * Reads the first bytes of a cleartext connection and hands it to the HTTP/2 or the HTTP/1.1
 * server, with the bytes read put back. Node 20 cannot serve both on one cleartext port by
 * itself (nodejs/node #26795). It decides as soon as the bytes seen differ from the preface,
 * or once the whole 24-byte preface has arrived, however the client split it. A client that
 * sends nothing for `timeoutMs` is dropped (slowloris).
 */
export function sniffProtocol(socket: net.Socket, timeoutMs: number, targets: ProtocolTargets): void {
  socket.on("error", () => socket.destroy());
  socket.setTimeout(timeoutMs, () => socket.destroy());
  let seen: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, H2_PREFACE.length);
    const couldBeH2 = seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
    if (couldBeH2 && seen.length < H2_PREFACE.length) return; // wait for the whole preface
    socket.off("data", onData);
    socket.setTimeout(0);
    socket.pause();
    socket.unshift(seen);
    if (couldBeH2) {
      // Http2Session reads the unshifted bytes itself; resuming here would lose the preface.
      targets.http2(socket);
    } else {
      targets.http1(socket);
      socket.resume();
    }
  };
  socket.on("data", onData);
}
