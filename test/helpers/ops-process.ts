import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

/** The real `tessera` command (compiled by `npm test` / `npm ci`). */
export const TESSERA_BIN = fileURLToPath(new URL("../../bin/tessera", import.meta.url));
const DIST = fileURLToPath(new URL("../../dist/src/cli/main.js", import.meta.url));

/** One parsed stdout line of a server; lines that are not JSON are kept as `{ raw }`. */
export type LogLine = Record<string, unknown>;

/** How a child process ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A `tessera serve` child process whose whole output is kept, for operations tests. */
export interface OpsServer {
  /** http://127.0.0.1:PORT (https:// when started with TLS). */
  url: string;
  port: number;
  child: ChildProcess;
  /** Every stdout line so far, parsed. */
  logs: LogLine[];
  /** Everything the process wrote to stdout and stderr so far, verbatim. */
  output(): string;
  /** Resolves when the process has exited. */
  exited: Promise<Exit>;
  /** Resolves with the first log line (past or future) matching `pred`; rejects after `ms`. */
  waitForLog(pred: (l: LogLine) => boolean, ms?: number): Promise<LogLine>;
  /** Sends `signal` (default SIGTERM) unless the process has already exited, and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

/** Options for starting a server. */
export interface StartOptions {
  /** The --db argument; null: no --db at all (the database comes from the environment). */
  db: string | null;
  args?: string[];
  env?: Record<string, string>;
  /** Listen address; default 127.0.0.1. null: no --host at all (the server's own default). */
  host?: string | null;
  /** A command the server runs under, e.g. ["unshare", "-n", ...]; it must exec its arguments. */
  prefix?: string[];
  /** Working directory of the server (a relative --db is resolved against it). */
  cwd?: string;
  /** The scheme of `url`; https when the server is given --tls-cert. */
  scheme?: "http" | "https";
  /** The `tessera` command to run; default: this checkout's bin/tessera. */
  bin?: string;
}

/** Starts `tessera serve` on a free port and resolves once it logs that it listens. */
export async function startTessera(opts: StartOptions): Promise<OpsServer> {
  if (!opts.bin && !existsSync(DIST)) throw new Error("dist/ is missing: run `npm run build` (npm test does it) first");
  const host = opts.host === null ? [] : ["--host", opts.host ?? "127.0.0.1"];
  const args = ["serve", "--port", "0", ...host, ...(opts.db === null ? [] : ["--db", opts.db]), ...(opts.args ?? [])];
  const argv = [...(opts.prefix ?? []), process.execPath, opts.bin ?? TESSERA_BIN, ...args];
  const child = spawn(argv[0]!, argv.slice(1), {
    env: { PATH: process.env.PATH ?? "", ...opts.env },
    cwd: opts.cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: LogLine[] = [];
  const waiters = new Set<{ pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>();
  let out = "";
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<Exit>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  createInterface({ input: child.stdout! }).on("line", (line) => {
    out += line + "\n";
    let rec: LogLine;
    try {
      rec = JSON.parse(line) as LogLine;
    } catch {
      rec = { raw: line };
    }
    logs.push(rec);
    for (const w of waiters) {
      if (w.pred(rec)) {
        waiters.delete(w);
        w.resolve(rec);
      }
    }
  });
  const waitForLog = (pred: (l: LogLine) => boolean, ms = 10_000) =>
    new Promise<LogLine>((resolve, reject) => {
      const found = logs.find(pred);
      if (found) return resolve(found);
      const w = {
        pred,
        resolve: (l: LogLine) => {
          clearTimeout(timer);
          resolve(l);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(w);
        reject(new Error(`no matching log line within ${ms} ms; output so far:\n${out.slice(-4000)}`));
      }, ms);
      waiters.add(w);
    });
  const listening = await Promise.race([
    waitForLog((l) => l.msg === "tessera listening", 20_000),
    exited.then((e) => {
      throw new Error(`tessera serve exited (${e.code ?? e.signal}) before listening:\n${out}`);
    }),
  ]);
  const port = listening.port as number;
  const urlHost = opts.host === undefined || opts.host === null || opts.host === "0.0.0.0" || opts.host === "::" ? "127.0.0.1" : opts.host;
  return {
    url: `${opts.scheme ?? "http"}://${urlHost}:${port}`,
    port,
    child,
    logs,
    output: () => out,
    exited,
    waitForLog,
    stop: async (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs `tessera ARGS` without blocking the event loop (servers in this process keep being served). */
export function runTessera(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 20_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [TESSERA_BIN, ...args], {
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Admin credentials printed by `tessera bootstrap`. */
export interface Credentials {
  clientId: string;
  clientSecret: string;
}

/** Runs `tessera bootstrap --db DB --create-dir` and returns the admin client it printed. */
export async function bootstrap(db: string, env: Record<string, string> = {}): Promise<Credentials> {
  const r = await runTessera(["bootstrap", "--db", db, "--create-dir"], env);
  expect(r.code, r.stderr).toBe(0);
  const j = JSON.parse(r.stdout) as { client_id: string; client_secret: string };
  return { clientId: j.client_id, clientSecret: j.client_secret };
}

/** A fresh temporary folder. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `tessera-ops-${prefix}-`));
}

/** Polls `check` every 50 ms until it returns true; throws after `ms`. */
export async function eventually(check: () => Promise<boolean> | boolean, ms = 5000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms`);
    await sleep(50);
  }
}

/** Waits `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** An HTTP/1.1 answer: status, headers, body text. */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
}

/**
 * One cleartext HTTP/1.1 request on a connection of its own (`Connection: close`), so no idle
 * keep-alive connection is left behind to hold up the server's shutdown.
 */
export function httpRequest(method: string, url: string, headers: Record<string, string> = {}, body?: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false, timeout: 10_000 }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(", ") : v);
        resolve({ status: res.statusCode!, headers: h, text });
      });
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on("error", reject);
    req.end(body);
  });
}

/** POSTs a form; returns status, headers and the parsed JSON body. */
export async function postForm(
  url: string,
  body: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const r = await httpRequest("POST", url, { "content-type": "application/x-www-form-urlencoded", ...headers }, new URLSearchParams(body).toString());
  return { status: r.status, headers: r.headers, body: JSON.parse(r.text) as Record<string, unknown> };
}

/** GETs a URL and returns its body text (throws unless 200). */
export async function getText(url: string): Promise<string> {
  const r = await httpRequest("GET", url);
  if (r.status !== 200) throw new Error(`GET ${url}: ${r.status} ${r.text}`);
  return r.text;
}
