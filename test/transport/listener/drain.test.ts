import http2 from "node:http2";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ConnectionTracker } from "../../../src/transport/listener/connection-tracker.js";
import { drain } from "../../../src/transport/listener/drain.js";

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** A tracked TCP listener with one open connection: both ends. */
async function oneConnection(tracker: ConnectionTracker): Promise<{ client: net.Socket; server: net.Socket }> {
  let accepted: (s: net.Socket) => void = () => undefined;
  const serverSide = new Promise<net.Socket>((r) => (accepted = r));
  const server = net.createServer((s) => {
    tracker.trackSocket(s);
    accepted(s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  const client = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
  client.on("error", () => undefined);
  cleanups.push(() => void client.destroy());
  return { client, server: await serverSide };
}

const closed = (s: net.Socket) => new Promise<void>((r) => (s.closed ? r() : s.once("close", () => r())));

describe("drain", () => {
  // The grace periods below are far longer than the test's own timeout: a drain that waited
  // for them instead of the tracker's event would fail the test.
  it("resolves when the last connection closes, without waiting for the grace period", async () => {
    const tracker = new ConnectionTracker();
    const { client } = await oneConnection(tracker);
    const drained = drain(tracker, { graceMs: 600_000, idleCutoffMs: 600_000 });
    client.end();
    await drained;
    expect(tracker.size).toBe(0);
  });

  it("closes idle connections at the cutoff, not before, and then resolves", async () => {
    const tracker = new ConnectionTracker();
    const { server } = await oneConnection(tracker);
    let calls = 0;
    const drained = drain(tracker, {
      graceMs: 600_000,
      idleCutoffMs: 20,
      closeIdle: () => {
        calls++;
        server.destroy();
      },
    });
    expect(calls).toBe(0);
    await drained;
    expect(calls).toBe(1);
  });

  it("when the grace period ends, destroys every connection still open", async () => {
    const tracker = new ConnectionTracker();
    const { client } = await oneConnection(tracker);
    await drain(tracker, { graceMs: 30, idleCutoffMs: 250 });
    // Destroyed from the server side: the client sees the connection end, and the tracker its close.
    await Promise.all([closed(client), tracker.whenEmpty()]);
    expect(tracker.size).toBe(0);
  });

  it("sends GOAWAY to HTTP/2 sessions at once: the client learns no new stream will be served", async () => {
    const tracker = new ConnectionTracker();
    const server = http2.createServer();
    server.on("connection", (s: net.Socket) => tracker.trackSocket(s));
    server.on("session", (s) => tracker.trackSession(s));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const session = http2.connect(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
    session.on("error", () => undefined);
    cleanups.push(() => void session.destroy());
    await new Promise<void>((r) => session.once("remoteSettings", () => r()));
    const goaway = new Promise<void>((r) => session.once("goaway", () => r()));
    const drained = drain(tracker, { graceMs: 600_000, idleCutoffMs: 600_000 });
    await goaway;
    // An idle session closes after GOAWAY: the drain ends on the tracker's event.
    await drained;
    expect(tracker.size).toBe(0);
  });
});
