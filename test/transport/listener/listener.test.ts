import type http from "node:http";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { listenPlan } from "../../../src/transport/listener/listen-all.js";
import { createListener, type Listener } from "../../../src/transport/listener/listener.js";

// A cleartext listener on a real port whose handler answers only when the test says so: what
// a drain does to HTTP/1.1 answers and their keep-alive connections.

const LIMITS = { maxHeaderBytes: 16_384, requestTimeoutMs: 30_000, idleTimeoutMs: 60_000, maxConcurrentStreams: 100 };
// Longer than any test may run: a drain that ends, ended on the tracker's event.
const LONG_GRACE_MS = 600_000;

const open: Listener[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((l) => l.close(0)));
});

async function start(idleCutoffMs?: number) {
  const waiting: (() => void)[] = [];
  let arrived: (socket: net.Socket) => void = () => undefined;
  let draining: () => void = () => undefined;
  const drainStarted = new Promise<void>((r) => (draining = r));
  const listener = createListener({
    limits: LIMITS,
    idleCutoffMs,
    onClose: () => draining(),
    handler: (req, res) => {
      const h1 = res as http.ServerResponse;
      if (req.url === "/early-headers") {
        // The headers go out at once, before any drain, promising keep-alive; the body waits.
        h1.writeHead(200, { "content-type": "text/plain", "content-length": "2" });
        h1.flushHeaders();
      }
      waiting.push(() => h1.end("ok"));
      arrived(req.socket as net.Socket);
    },
  });
  open.push(listener);
  const { addresses } = await listener.listen(0, listenPlan("127.0.0.1"));
  const port = addresses[0]?.port ?? 0;
  return {
    listener,
    drainStarted,
    /** Sends a keep-alive GET and resolves once the handler holds it. */
    async request(path: string) {
      const requestArrived = new Promise<net.Socket>((r) => (arrived = r));
      const socket = net.connect(port, "127.0.0.1");
      socket.on("error", () => undefined);
      let received = "";
      const head = new Promise<string>((resolve) =>
        socket.on("data", (d: Buffer) => {
          received += d.toString();
          const end = received.indexOf("\r\n\r\n");
          if (end >= 0) resolve(received.slice(0, end).toLowerCase());
        }),
      );
      const closed = new Promise<void>((r) => socket.once("close", () => r()));
      socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n`);
      const serverSide = await requestArrived;
      // Node closes an idle keep-alive connection itself, after min(idle timeout, 5 s), by the
      // socket's timeout: a connection closed that way was not closed by the drain.
      let timedOut = false;
      serverSide.once("timeout", () => (timedOut = true));
      return { head, closed, timedOut: () => timedOut, body: () => received.slice(received.indexOf("\r\n\r\n") + 4) };
    },
    /** Lets the oldest waiting request answer. */
    answer() {
      waiting.shift()?.();
    },
  };
}

describe("createListener draining HTTP/1.1", () => {
  it("an answer written during a drain says Connection: close; its connection ends after it, and so does the drain", async () => {
    const s = await start();
    const r = await s.request("/slow");
    const closing = s.listener.close(LONG_GRACE_MS);
    s.answer();
    expect(await r.head).toContain("connection: close");
    await r.closed;
    expect(r.body()).toBe("ok");
    await closing;
  });

  it("an answer that promised keep-alive before the drain and ends after the idle cutoff: its connection is closed at once", async () => {
    const s = await start(0);
    const r = await s.request("/early-headers");
    expect(await r.head).toContain("connection: keep-alive");
    const closing = s.listener.close(LONG_GRACE_MS);
    await s.drainStarted;
    // The drain has scheduled its idle cutoff (0 ms); a timer set now runs after it.
    await new Promise((resolve) => setTimeout(resolve, 0));
    s.answer();
    await r.closed;
    expect(r.timedOut(), "the idle connection was left for Node's keep-alive timeout").toBe(false);
    expect(r.body()).toBe("ok");
    await closing;
  });

  it("a keep-alive connection idle when the drain starts is closed at the cutoff", async () => {
    const s = await start(50);
    const r = await s.request("/slow");
    s.answer();
    expect(await r.head).toContain("connection: keep-alive");
    const closing = s.listener.close(LONG_GRACE_MS);
    await r.closed;
    await closing;
  });
});
