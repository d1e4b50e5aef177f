import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { H2_PREFACE, sniffProtocol } from "../../../src/transport/listener/protocol-sniffer.js";

// A real TCP listener whose accepted sockets go through the sniffer; each test sees which
// target got the socket and reads from it what the sniffer put back.

type Verdict = { target: "http1" | "http2"; bytes: Buffer };

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function sniffing(timeoutMs = 5000): Promise<{ port: number; verdict: Promise<Verdict>; dropped: Promise<void> }> {
  let onVerdict: (v: Verdict) => void = () => undefined;
  let onDropped: () => void = () => undefined;
  const verdict = new Promise<Verdict>((r) => (onVerdict = r));
  const dropped = new Promise<void>((r) => (onDropped = r));
  // What a target reads: the sniffed bytes first, then what follows, up to 64 bytes.
  const take = (target: Verdict["target"]) => (socket: net.Socket) => {
    const chunks: Buffer[] = [];
    const onData = (c: Buffer) => {
      chunks.push(c);
      const bytes = Buffer.concat(chunks);
      if (bytes.length >= 64 || bytes.includes("!")) {
        socket.off("data", onData);
        onVerdict({ target, bytes });
        socket.destroy();
      }
    };
    socket.on("data", onData);
    // The HTTP/2 side is handed a paused socket (Http2Session reads it itself); a test reader resumes it.
    if (target === "http2") socket.resume();
  };
  const server = net.createServer((socket) => {
    socket.once("close", () => onDropped());
    // One byte back per chunk received, so the client sends its next piece only once this one
    // has arrived on its own: the sniffer really sees the pieces apart.
    socket.on("data", () => {
      if (socket.writable) socket.write(".");
    });
    sniffProtocol(socket, timeoutMs, { http1: take("http1"), http2: take("http2") });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as net.AddressInfo).port, verdict, dropped };
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, "127.0.0.1", () => resolve(c));
    c.once("error", reject);
  });
}

/** Writes each piece once the server has received the one before (it answers every chunk with a byte). */
async function writeApart(socket: net.Socket, pieces: Buffer[]): Promise<void> {
  socket.setNoDelay(true);
  for (const [i, p] of pieces.entries()) {
    const acked = new Promise((r) => socket.once("data", r));
    socket.write(p);
    // Not after the last piece: the target may close the connection before the byte is sent.
    if (i < pieces.length - 1) await acked;
  }
}

describe("sniffProtocol", () => {
  it("an HTTP/2 preface split into single bytes goes to HTTP/2, with every byte put back", async () => {
    const s = await sniffing();
    const c = await connect(s.port);
    const sent = Buffer.concat([H2_PREFACE, Buffer.from("frames!")]);
    await writeApart(
      c,
      [...sent].map((b) => Buffer.from([b])),
    );
    const v = await s.verdict;
    expect(v.target).toBe("http2");
    expect(v.bytes.toString("latin1")).toBe(sent.toString("latin1"));
    c.destroy();
  });

  it("the preface in two parts cut in the middle still goes to HTTP/2", async () => {
    const s = await sniffing();
    const c = await connect(s.port);
    await writeApart(c, [H2_PREFACE.subarray(0, 11), Buffer.concat([H2_PREFACE.subarray(11), Buffer.from("!")])]);
    const v = await s.verdict;
    expect(v.target).toBe("http2");
    expect(v.bytes.subarray(0, H2_PREFACE.length).equals(H2_PREFACE)).toBe(true);
    c.destroy();
  });

  it("HTTP/1.1 goes to HTTP/1.1 as soon as a byte differs from the preface, without waiting for 24 bytes", async () => {
    const s = await sniffing();
    const c = await connect(s.port);
    // "P" matches the preface's first byte, "O" does not: the verdict needs no more than these two.
    await writeApart(c, [Buffer.from("P"), Buffer.from("O"), Buffer.from("ST / HTTP/1.1!")]);
    const v = await s.verdict;
    expect(v.target).toBe("http1");
    expect(v.bytes.toString()).toBe("POST / HTTP/1.1!");
    c.destroy();
  });

  it("a client that sends nothing is dropped after the timeout, and goes to neither server", async () => {
    const s = await sniffing(100);
    const c = await connect(s.port);
    c.on("error", () => undefined);
    const closedByServer = new Promise<void>((r) => c.once("close", () => r()));
    await s.dropped;
    await closedByServer;
    const raced = await Promise.race([s.verdict.then(() => "handed over"), Promise.resolve("neither")]);
    expect(raced).toBe("neither");
  });
});
