import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ConnectionTracker } from "../../../src/transport/listener/connection-tracker.js";

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A TCP listener whose accepted sockets are tracked; `accepted` yields them in order. */
async function tracked(tracker: ConnectionTracker) {
  const waiting: ((s: net.Socket) => void)[] = [];
  const ready: net.Socket[] = [];
  const server = net.createServer((socket) => {
    tracker.trackSocket(socket);
    const w = waiting.shift();
    if (w) w(socket);
    else ready.push(socket);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    /** Opens a client connection; resolves with both ends once the server has accepted it. */
    async open(): Promise<{ client: net.Socket; server: net.Socket }> {
      const client = net.connect(port, "127.0.0.1");
      client.on("error", () => undefined);
      const server = ready.shift() ?? (await new Promise<net.Socket>((r) => waiting.push(r)));
      return { client, server };
    },
  };
}

const closed = (s: net.Socket) => new Promise<void>((r) => (s.closed ? r() : s.once("close", () => r())));

describe("ConnectionTracker", () => {
  it("emits empty only when the last of its connections closes, and whenEmpty resolves then", async () => {
    const tracker = new ConnectionTracker();
    const l = await tracked(tracker);
    const a = await l.open();
    const b = await l.open();
    expect(tracker.size).toBe(2);
    let empties = 0;
    tracker.on("empty", () => empties++);
    const empty = tracker.whenEmpty();
    let settled = false;
    void empty.then(() => (settled = true));

    a.client.destroy();
    await closed(a.server);
    expect(tracker.size).toBe(1);
    expect(empties).toBe(0);
    expect(settled).toBe(false);

    b.client.end();
    await empty;
    expect(tracker.size).toBe(0);
    expect(empties).toBe(1);
  });

  it("whenEmpty resolves at once when nothing is open", async () => {
    const tracker = new ConnectionTracker();
    // Settled before the next turn of the event loop, not whenever a connection event comes.
    const nextTurn = new Promise((resolve) => setImmediate(() => resolve("the next turn came first")));
    expect(await Promise.race([tracker.whenEmpty().then(() => "resolved"), nextTurn])).toBe("resolved");
  });

  it("destroyAll ends every connection from the server side", async () => {
    const tracker = new ConnectionTracker();
    const l = await tracked(tracker);
    const a = await l.open();
    const b = await l.open();
    const empty = tracker.whenEmpty();
    tracker.destroyAll();
    await Promise.all([closed(a.client), closed(b.client), empty]);
    expect(tracker.size).toBe(0);
  });
});
