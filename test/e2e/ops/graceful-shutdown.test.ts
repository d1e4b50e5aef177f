import { existsSync, rmSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { join } from "node:path";
import Database from "better-sqlite3";
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, within } from "../../helpers/eventually.js";
import { getText, postForm } from "../../helpers/http.js";
import { type CallFailure, opsClient, unary, watchHealth } from "../../helpers/ops-grpc.js";
import { bootstrap, type Credentials, type LogLine, startTessera, type TesseraProcess, tempDir } from "../../helpers/tessera-process.js";
import { basic } from "../../helpers/test-server.js";

const issuer = "http://tessera.shutdown.test";
let dir: string;
const started: TesseraProcess[] = [];

beforeAll(() => {
  dir = tempDir("shutdown");
});
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop("SIGKILL")));
  rmSync(dir, { recursive: true, force: true });
});

async function serve(name: string, args: string[] = []): Promise<{ s: TesseraProcess; db: string; admin: Credentials }> {
  const db = join(dir, `${name}.db`);
  const admin = await bootstrap(db);
  const s = await startTessera({ db, args: ["--issuer", issuer, ...args] });
  started.push(s);
  return { s, db, admin };
}

/** Whether a new TCP connection to `port` is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, "127.0.0.1");
    c.once("connect", () => {
      c.destroy();
      resolve(false);
    });
    c.once("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED"));
  });
}

/** A raw HTTP/1.1 answer: status line and headers, and the body. */
interface RawAnswer {
  head: string;
  body: string;
}

const CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n";

/**
 * A token request whose body is sent in two parts, the second when `finish()` is called. It
 * asks for 100 Continue (RFC 9110 §10.1.1), which the server sends once it has parsed the
 * headers and handed the request to its handler: `accepted` resolves then, the moment the
 * request is in flight on the server.
 */
function slowTokenRequest(port: number, admin: Credentials) {
  const body = "grant_type=client_credentials&scope=tessera%3Aadmin";
  const socket = net.connect(port, "127.0.0.1");
  let received = "";
  let onAccepted: () => void = () => undefined;
  const accepted = new Promise<void>((r) => (onAccepted = r));
  let onAnswer: (a: RawAnswer) => void = () => undefined;
  const answer = new Promise<RawAnswer>((r) => (onAnswer = r));
  /** What came after the interim 100 Continue: the final answer, or part of it. */
  const final = () => (received.startsWith(CONTINUE) ? received.slice(CONTINUE.length) : received);
  socket.on("data", (d: Buffer) => {
    received += d.toString();
    if (received.startsWith(CONTINUE)) onAccepted();
    const rest = final();
    const end = rest.indexOf("\r\n\r\n");
    const length = /content-length: (\d+)/i.exec(rest)?.[1];
    if (end >= 0 && length !== undefined && rest.length >= end + 4 + Number(length)) {
      onAnswer({ head: rest.slice(0, end), body: rest.slice(end + 4) });
    }
  });
  socket.on("error", () => undefined);
  const closed = new Promise<void>((r) => socket.once("close", () => r()));
  socket.write(
    `POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nExpect: 100-continue\r\n` +
      `Authorization: ${basic(admin.clientId, admin.clientSecret)}\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
  );
  return {
    accepted: within("the server to accept the request (100 Continue)", accepted),
    finish: () => socket.write(body.slice(10)),
    answer,
    closed,
    /** What the server sent after 100 Continue. */
    final,
    /** The client hangs up. */
    close: () => socket.destroy(),
  };
}

/** Milliseconds from the server's "shutting down" line to its "stopped" line, by the server's own clock. */
function stopTook(logs: LogLine[]): number {
  const at = (msg: string) => logs.find((l) => l.msg === msg)?.time as number;
  return at("stopped") - at("shutting down");
}

/** Waits for the server's "shutting down" line: from then on it drains (answers say Connection: close). */
const draining = (s: TesseraProcess) => s.waitForLog((l) => l.msg === "shutting down");

function dbIsClean(db: string) {
  // A clean close checkpoints the WAL and removes it.
  expect(existsSync(`${db}-wal`), "the -wal file is gone after a clean close").toBe(false);
  const file = new Database(db);
  try {
    expect(file.pragma("integrity_check", { simple: true })).toBe("ok");
  } finally {
    file.close();
  }
}

describe("SIGTERM", () => {
  it("health turns NOT_SERVING, new connections are refused, the request in flight finishes, exit 0, the database is closed cleanly", async () => {
    // A grace period far longer than the test: the process must exit because its last request
    // is done, not because the grace period ran out.
    const { s, db, admin } = await serve("term", ["--shutdown-grace", "60s"]);
    const jwks = createLocalJWKSet(JSON.parse(await getText(`${s.url}/.well-known/jwks.json`)) as JSONWebKeySet);
    const health = opsClient("Health", `127.0.0.1:${s.port}`);
    const whole = watchHealth(health, "");
    const tokenService = watchHealth(health, "tessera.v1.TokenService");
    await whole.next("SERVING");
    await tokenService.next("SERVING");

    const slow = slowTokenRequest(s.port, admin);
    await slow.accepted; // the server has the request (headers and part of the body) in hand
    s.child.kill("SIGTERM");

    await whole.next("NOT_SERVING", 10_000);
    await tokenService.next("NOT_SERVING", 10_000);
    expect(await eventually("new connections to be refused while draining", () => refused(s.port))).toBe(true);
    expect(s.child.exitCode, "still draining the request in flight").toBeNull();

    slow.finish();
    const answer = await slow.answer;
    expect(answer.head).toMatch(/^HTTP\/1\.1 200 /);
    const { payload: claims } = await jwtVerify((JSON.parse(answer.body) as { access_token: string }).access_token, jwks, { issuer });
    expect(claims.client_id).toBe(admin.clientId);
    slow.close(); // done, as a client that does not reuse the connection

    expect(await within("the process to exit once its last request is answered", s.exited, 15_000)).toEqual({ code: 0, signal: null });
    await Promise.all([whole.ended, tokenService.ended]);
    health.close();
    expect(s.logs.find((l) => l.msg === "shutting down")?.signal).toBe("SIGTERM");
    expect(s.logs.at(-1)?.msg).toBe("stopped");
    expect(s.logs.filter((l) => (l.level as number) >= 50)).toEqual([]);

    // A new process opens the file at once.
    dbIsClean(db);
    const next = await startTessera({ db, args: ["--issuer", issuer] });
    started.push(next);
    const t = await postForm(
      `${next.url}/oauth/token`,
      { grant_type: "client_credentials" },
      { authorization: basic(admin.clientId, admin.clientSecret) },
    );
    expect(t.status).toBe(200);
    expect(await next.stop()).toEqual({ code: 0, signal: null });
  });

  it("a request still unfinished when the grace period ends is cut off, and the process still exits 0 in time", async () => {
    // The request timeout is far longer than the test: only the grace period can end the request.
    const { s, db, admin } = await serve("grace", ["--shutdown-grace", "1s", "--request-timeout", "10m"]);
    const slow = slowTokenRequest(s.port, admin);
    await slow.accepted;
    s.child.kill("SIGTERM");
    await within("the server to cut the unfinished request off", slow.closed, 15_000);
    expect(await s.exited).toEqual({ code: 0, signal: null });
    // It waited for the request for the whole grace period (by the server's own clock).
    expect(stopTook(s.logs)).toBeGreaterThanOrEqual(1000);
    expect(slow.final()).toBe(""); // never a partial answer
    dbIsClean(db);
  });

  it("an idle keep-alive HTTP/1.1 connection does not hold up the shutdown", async () => {
    const { s } = await serve("idle", ["--shutdown-grace", "60s"]);
    const socket = net.connect(s.port, "127.0.0.1");
    socket.on("error", () => undefined);
    const answered = new Promise<void>((r) => socket.once("data", () => r()));
    const closedByServer = new Promise<void>((r) => socket.once("close", () => r()));
    socket.write("GET /.well-known/jwks.json HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n");
    await answered;
    s.child.kill("SIGTERM");
    await within("the server to close the idle connection", closedByServer, 15_000);
    expect(await s.exited).toEqual({ code: 0, signal: null });
    socket.destroy();
    // Node itself closes an idle keep-alive connection 5 s after its last answer; the drain
    // closes it within 250 ms. By the server's own clock (no process start-up or scheduling of
    // this test in it) the stop takes a few hundred ms; 4 s is room for a loaded machine that
    // still shows the connection was not left to time out.
    expect(stopTook(s.logs)).toBeLessThan(4000);
  });

  it("the answer to a request in flight at SIGTERM closes its connection, and the process exits right after it", async () => {
    const { s, admin } = await serve("inflight", ["--shutdown-grace", "60s"]);
    const slow = slowTokenRequest(s.port, admin);
    await slow.accepted;
    s.child.kill("SIGTERM");
    await draining(s);
    slow.finish();
    const answer = await slow.answer;
    expect(answer.head).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer.head.toLowerCase()).toContain("connection: close");
    // Right after it: the 60 s grace period is not waited out.
    const exit = await within("the process to exit after answering its last request", s.exited, 15_000);
    slow.close();
    expect(exit).toEqual({ code: 0, signal: null });
  });
});

describe("SIGINT", () => {
  it("shuts down the same way: NOT_SERVING, exit 0, database closed cleanly", async () => {
    const { s, db } = await serve("int");
    const health = opsClient("Health", `127.0.0.1:${s.port}`);
    const watch = watchHealth(health, "");
    await watch.next("SERVING");
    s.child.kill("SIGINT");
    await watch.next("NOT_SERVING", 10_000);
    expect(await s.exited).toEqual({ code: 0, signal: null });
    health.close();
    expect(s.logs.find((l) => l.msg === "shutting down")?.signal).toBe("SIGINT");
    expect(s.logs.at(-1)?.msg).toBe("stopped");
    dbIsClean(db);
  });
});

describe("no acknowledged request is cut off", () => {
  type Outcome = { kind: "ok"; token: string; sentAfterSignal: boolean } | { kind: "refused"; why: string } | { kind: "bad"; why: string };

  it("a steady stream over HTTP/1.1 keep-alive and gRPC, with SIGTERM in the middle: every request completes with a valid token or is refused before it is accepted", async () => {
    const { s, db, admin } = await serve("stream");
    const jwks = createLocalJWKSet(JSON.parse(await getText(`${s.url}/.well-known/jwks.json`)) as JSONWebKeySet);
    let signalled = false;
    let exited = false;
    void s.exited.then(() => (exited = true));
    const form = `grant_type=client_credentials&scope=${encodeURIComponent("tessera:admin")}`;
    const auth = basic(admin.clientId, admin.clientSecret);

    const agent = new http.Agent({ keepAlive: true, maxSockets: 3 });
    const httpCall = () =>
      new Promise<Outcome>((resolve) => {
        const sentAfterSignal = signalled;
        let responded = false;
        const req = http.request(
          `${s.url}/oauth/token`,
          {
            method: "POST",
            agent,
            headers: { "content-type": "application/x-www-form-urlencoded", authorization: auth, "content-length": form.length },
            timeout: 10_000,
          },
          (res) => {
            responded = true;
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (d: string) => (text += d));
            res.on("error", (e) => resolve({ kind: "bad", why: `body cut off after status ${res.statusCode}: ${e.message}` }));
            res.on("end", () => {
              if (!res.complete) return resolve({ kind: "bad", why: `truncated body after status ${res.statusCode}` });
              if (res.statusCode !== 200) return resolve({ kind: "bad", why: `status ${res.statusCode}: ${text}` });
              try {
                resolve({ kind: "ok", token: (JSON.parse(text) as { access_token: string }).access_token, sentAfterSignal });
              } catch {
                resolve({ kind: "bad", why: `unparsable 200 body: ${text}` });
              }
            });
          },
        );
        req.on("timeout", () => req.destroy(new Error("timed out")));
        req.on("error", (e: NodeJS.ErrnoException) => {
          if (responded) return;
          if (e.code === "ECONNREFUSED") resolve({ kind: "refused", why: e.code });
          // HTTP/1.1 has no GOAWAY: a request written onto a keep-alive connection just as the
          // draining server closes it idle is reset unread (RFC 9112 §9.6). That it was never
          // served is checked below: the server logged exactly as many requests as got tokens.
          else if (e.code === "ECONNRESET" && sentAfterSignal)
            resolve({ kind: "refused", why: "idle keep-alive connection closed while draining" });
          else resolve({ kind: "bad", why: `request failed before an answer: ${e.code ?? ""} ${e.message}` });
        });
        req.end(form);
      });

    const grpcTokens = opsClient("TokenService", `127.0.0.1:${s.port}`);
    const grpcCall = async (): Promise<Outcome> => {
      const sentAfterSignal = signalled;
      try {
        const r = await unary<{ access_token: string }>(grpcTokens, "IssueToken", {
          client_id: admin.clientId,
          client_secret: admin.clientSecret,
          scope: "tessera:admin",
        });
        return { kind: "ok", token: r.access_token, sentAfterSignal };
      } catch (e) {
        const f = e as CallFailure;
        return f.code === 14 ? { kind: "refused", why: f.details } : { kind: "bad", why: `gRPC ${f.code}: ${f.details}` };
      }
    };

    const results: Record<"http" | "grpc", Outcome[]> = { http: [], grpc: [] };
    const worker = async (door: "http" | "grpc") => {
      // Until the server is gone: after its exit every call is refused at once.
      for (let i = 0; i < 5000; i++) {
        const r = await (door === "http" ? httpCall() : grpcCall());
        results[door].push(r);
        if (r.kind !== "ok" && exited) return;
        // Refused while the process drains: pace the retries rather than spin on the refusals.
        if (r.kind === "refused") await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const workers = [...Array.from({ length: 3 }, () => worker("http")), ...Array.from({ length: 3 }, () => worker("grpc"))];
    // SIGTERM in the middle of the stream: once each door has issued more than ten tokens.
    const issued = (door: "http" | "grpc") => results[door].filter((o) => o.kind === "ok").length;
    await eventually("more than 10 tokens issued through each door", () => issued("http") > 10 && issued("grpc") > 10, {
      timeoutMs: 30_000,
    });
    signalled = true;
    s.child.kill("SIGTERM");
    const exit = await s.exited;
    await Promise.all(workers);
    agent.destroy();
    grpcTokens.close();

    expect(exit).toEqual({ code: 0, signal: null });
    for (const door of ["http", "grpc"] as const) {
      const r = results[door];
      const bad = r.filter((o) => o.kind === "bad");
      expect(bad, `${door}: answers that were neither a valid token nor a refusal`).toEqual([]);
      const ok = r.filter((o): o is Extract<Outcome, { kind: "ok" }> => o.kind === "ok");
      expect(ok.length, `${door}: tokens issued`).toBeGreaterThan(10);
      expect(r.filter((o) => o.kind === "refused").length, `${door}: refusals after SIGTERM`).toBeGreaterThan(0);
      for (const o of ok) await jwtVerify(o.token, jwks, { issuer });
      // Every request the server handled reached its caller: the server's request log (flushed at exit) has as many lines.
      const served = s.logs.filter((l) => l.msg === "token request" && l.transport === door);
      expect(served.filter((l) => l.outcome === "success").length).toBe(ok.length);
      expect(served.length).toBe(ok.length);
      console.log(
        `${door}: ${ok.length} tokens (${ok.filter((o) => o.sentAfterSignal).length} sent after SIGTERM), ${r.length - ok.length} refused`,
      );
    }
    dbIsClean(db);
  }, 60_000);
});
