import type net from "node:net";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { httpRequest } from "../../helpers/http.js";
import { startTessera, type TesseraProcess, tempDir } from "../../helpers/tessera-process.js";
import { startTestServer } from "../../helpers/test-server.js";
import { connect, parseResponse } from "../limits/wire.js";

// The HTTP probes an orchestrator polls: GET /healthz (liveness: the process answers) and
// GET /readyz (readiness: the database answers, a signing key is loaded, no shutdown under
// way), against the real server.

const dir = tempDir("probes");
const started: TesseraProcess[] = [];
afterAll(async () => {
  for (const s of started) await s.stop("SIGKILL");
});

const READY = { status: "ready", checks: { storage: "ok", signing_key: "ok", shutdown: "ok" } };

/**
 * A keep-alive connection that has been served once (GET /healthz, so the server has surely
 * accepted it) and then sent the first lines of a GET for `path`: a request under way, which a
 * draining server waits for. `finish()` sends the rest and reads the answer.
 */
async function startedRequest(port: number, path: string): Promise<{ finish(): Promise<ReturnType<typeof parseResponse>> }> {
  const socket: net.Socket = await connect(port);
  let received = Buffer.alloc(0);
  let onData = () => {};
  socket.on("data", (d: Buffer) => {
    received = Buffer.concat([received, d]);
    onData();
  });
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  socket.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  await new Promise<void>((resolve) => {
    onData = () => {
      if (received.includes('{"status":"ok"}')) resolve();
    };
  });
  expect(parseResponse(received).status).toBe(200);
  received = Buffer.alloc(0);
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
  return {
    async finish() {
      socket.write("\r\n");
      await closed; // the server closes after answering: it is shutting down
      return parseResponse(received);
    },
  };
}

describe("GET /healthz and GET /readyz on a running tessera serve", () => {
  it("answer 200 once it listens, with the checks that passed; HEAD too; only GET and HEAD", async () => {
    const s = await startTessera({ db: join(dir, "ready.db") });
    started.push(s);
    const live = await httpRequest("GET", `${s.url}/healthz`);
    expect(live.status).toBe(200);
    expect(JSON.parse(live.text)).toEqual({ status: "ok" });
    expect(live.headers.get("cache-control")).toBe("no-store");
    const ready = await httpRequest("GET", `${s.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toEqual(READY);
    expect((await httpRequest("HEAD", `${s.url}/readyz`)).status).toBe(200);
    expect((await httpRequest("HEAD", `${s.url}/healthz`)).status).toBe(200);
    const post = await httpRequest("POST", `${s.url}/readyz`);
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    expect(await s.stop()).toEqual({ code: 0, signal: null });
  });

  it("during a graceful shutdown /readyz answers 503 naming the shutdown, while /healthz still answers 200", async () => {
    const s = await startTessera({ db: join(dir, "drain.db") });
    started.push(s);
    expect((await httpRequest("GET", `${s.url}/healthz`)).status).toBe(200);
    // Connections opened before SIGTERM, each with a request under way, so the draining server
    // waits for them (it refuses new connections).
    const readyz = await startedRequest(s.port, "/readyz");
    const healthz = await startedRequest(s.port, "/healthz");
    s.child.kill("SIGTERM");
    await s.waitForLog((l) => l.msg === "shutting down");
    const notReady = await readyz.finish();
    expect(notReady.status).toBe(503);
    expect(JSON.parse(notReady.body.toString())).toEqual({
      status: "not_ready",
      failed: ["shutdown"],
      checks: { storage: "ok", signing_key: "ok", shutdown: "draining" },
    });
    const alive = await healthz.finish();
    expect(alive.status).toBe(200);
    expect(JSON.parse(alive.body.toString())).toEqual({ status: "ok" });
    expect(await s.exited).toEqual({ code: 0, signal: null });
  });
});

describe("GET /readyz when the database is gone", () => {
  it("answers 503 naming storage while /healthz answers 200", async () => {
    const server = await startTestServer();
    try {
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      // The database handle closes under the running server (what a lost volume looks like to it).
      await server.running.storage.close();
      const res = await fetch(`${server.url}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({
        status: "not_ready",
        failed: ["storage"],
        checks: { storage: "the database cannot be read", signing_key: "ok", shutdown: "ok" },
      });
      const live = await fetch(`${server.url}/healthz`);
      expect(live.status).toBe(200);
      expect(await live.json()).toEqual({ status: "ok" });
    } finally {
      await server.stop();
    }
  });
});
