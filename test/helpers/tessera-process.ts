import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { within } from "./eventually.js";

// Real `tessera` processes, as a user runs them: `tessera serve` until it is stopped, any other
// command to completion, a command on a pseudo-terminal, and plain `node` scripts. Every wait
// here is on an event of the process (a log line, its output, its exit), never on time.

/** The real `tessera` command (compiled by `npm test` / `npm ci`). */
export const TESSERA_BIN = fileURLToPath(new URL("../../bin/tessera", import.meta.url));
const DIST = fileURLToPath(new URL("../../dist/src/cli/main.js", import.meta.url));

function requireDist(): void {
  if (!existsSync(DIST)) throw new Error("dist/ is missing: run `npm run build` (npm test does it) first");
}

/** One parsed stdout line of a server; lines that are not JSON are kept as `{ raw }`. */
export type LogLine = Record<string, unknown>;

/** How a child process ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running `tessera serve` whose whole output is kept. */
export interface TesseraProcess {
  /** http://HOST:PORT (https:// when started with TLS) of the first address it listens on. */
  url: string;
  port: number;
  child: ChildProcess;
  /** Every stdout line so far, parsed. */
  logs: LogLine[];
  /** The "tessera listening" line. */
  listening: LogLine;
  /** Everything the process wrote to stdout and stderr so far, verbatim. */
  output(): string;
  /** Resolves when the process has exited. */
  exited: Promise<Exit>;
  /** Resolves with the first log line (past or future) matching `pred`; fails after `ms` with the output so far. */
  waitForLog(pred: (l: LogLine) => boolean, ms?: number): Promise<LogLine>;
  /** Sends `signal` (default SIGTERM) unless the process has already exited, and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

/** How to start `tessera serve`. */
export interface ServeOptions {
  /** --db; omitted: no --db (TESSERA_DB or the default path applies). */
  db?: string;
  args?: string[];
  env?: Record<string, string>;
  /** --host; default 127.0.0.1. null: no --host at all (TESSERA_HOST or the server's own default). */
  host?: string | null;
  /** --port; default 0 (a free port). null: no --port at all (TESSERA_PORT, PORT or the default). */
  port?: number | null;
  /** A command the server runs under, e.g. ["unshare", "-n", ...]; it must exec its arguments. */
  prefix?: string[];
  /** Working directory of the server (a relative --db is resolved against it). */
  cwd?: string;
  /** The scheme of `url`; https when the server is given --tls-cert. */
  scheme?: "http" | "https";
  /** The `tessera` command to run; default: this checkout's bin/tessera. */
  bin?: string;
}

// Starting takes a second when the machine is idle and several when it is busy; a server that
// never logs "tessera listening" is broken, and this bounds how long a test waits to say so.
const START_TIMEOUT_MS = 30_000;

/** Starts `tessera serve` and resolves once it logs that it listens; rejects with its output if it exits first. */
export async function startTessera(opts: ServeOptions = {}): Promise<TesseraProcess> {
  if (!opts.bin) requireDist();
  const flags = [
    ...(opts.port === null ? [] : ["--port", String(opts.port ?? 0)]),
    ...(opts.host === null ? [] : ["--host", opts.host ?? "127.0.0.1"]),
    ...(opts.db === undefined ? [] : ["--db", opts.db]),
  ];
  const argv = [...(opts.prefix ?? []), process.execPath, opts.bin ?? TESSERA_BIN, "serve", ...flags, ...(opts.args ?? [])];
  const child = spawn(argv[0]!, argv.slice(1), {
    env: { PATH: process.env.PATH ?? "", ...opts.env },
    cwd: opts.cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: LogLine[] = [];
  const waiters = new Set<(l: LogLine) => void>();
  let out = "";
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<Exit>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  createInterface({ input: child.stdout! }).on("line", (line) => {
    out += `${line}\n`;
    let rec: LogLine;
    try {
      rec = JSON.parse(line) as LogLine;
    } catch {
      // --log-format pretty: the listening line still carries its fields as JSON at the end.
      const listening = / INFO: tessera listening (\{.*\})$/.exec(line);
      rec = listening ? { raw: line, msg: "tessera listening", ...(JSON.parse(listening[1]!) as LogLine) } : { raw: line };
    }
    logs.push(rec);
    for (const w of waiters) w(rec);
  });
  const waitForLog = (pred: (l: LogLine) => boolean, ms = 10_000) => {
    const found = logs.find(pred);
    if (found) return Promise.resolve(found);
    let onLine: (l: LogLine) => void = () => undefined;
    const seen = new Promise<LogLine>((resolve) => {
      onLine = (l) => {
        if (!pred(l)) return;
        waiters.delete(onLine);
        resolve(l);
      };
      waiters.add(onLine);
    });
    return within(`a matching log line`, seen, ms).catch((err: Error) => {
      waiters.delete(onLine);
      throw new Error(`${err.message}; output so far:\n${out.slice(-4000)}`);
    });
  };
  const listening = await Promise.race([
    waitForLog((l) => l.msg === "tessera listening", START_TIMEOUT_MS),
    exited.then((e) => {
      throw new Error(`tessera serve exited (${e.code ?? e.signal}) before listening:\n${out}`);
    }),
  ]);
  const port = listening.port as number;
  const host = opts.host === undefined || opts.host === null || opts.host === "0.0.0.0" || opts.host === "::" ? "127.0.0.1" : opts.host;
  return {
    url: `${opts.scheme ?? "http"}://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    child,
    logs,
    listening,
    output: () => out,
    exited,
    waitForLog,
    stop: async (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** How a command ran to completion: its exit and everything it printed. */
export interface RunResult extends Exit {
  stdout: string;
  stderr: string;
}

/** Options for running a command to completion. */
export interface RunOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Written to stdin, which is then closed (stdin is a pipe, never a terminal). */
  input?: string;
  /** Run as this user and group (see `unprivileged`). */
  uid?: number;
  gid?: number;
  /** Killed with SIGKILL after this long (a hang shows as signal SIGKILL); default 30 s. */
  timeoutMs?: number;
  /** For runTessera: the `tessera` command to run; default: this checkout's bin/tessera. */
  bin?: string;
}

/**
 * Runs `command ARGS` to completion without blocking the event loop (servers started by the
 * test in this process keep serving), with `env` plus PATH only.
 */
function run(command: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { PATH: process.env.PATH ?? "", ...opts.env },
      cwd: opts.cwd,
      stdio: ["pipe", "pipe", "pipe"],
      ...(opts.uid === undefined ? {} : { uid: opts.uid, gid: opts.gid }),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdin.on("error", () => undefined); // a command that exits without reading its input
    child.stdin.end(opts.input ?? "");
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs `tessera ARGS` to completion. */
export function runTessera(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  if (!opts.bin) requireDist();
  return run(process.execPath, [opts.bin ?? TESSERA_BIN, ...args], opts);
}

/** Runs `node ARGS` (a script of the test) to completion. */
export function runNode(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(process.execPath, args, opts);
}

const REPO = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Runs `code` (an ES module body, TypeScript imports allowed) in `n` Node processes at once,
 * each with CHILD=its index in its environment, and returns each one's stdout. Where `code`
 * awaits `atTheStart()`, every process waits there until all of them have got that far, so
 * their calls really overlap however long each took to start.
 */
export async function inProcesses(n: number, code: string, env: Record<string, string>): Promise<string[]> {
  const prelude = `const atTheStart = () => { process.stdout.write("ready\\n"); return new Promise((go) => process.stdin.once("data", go)); };\n`;
  const children = Array.from({ length: n }, (_, i) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", prelude + code], {
      cwd: REPO,
      env: { ...process.env, ...env, CHILD: String(i) },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let onReady: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (onReady = resolve));
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (stdout.startsWith("ready\n")) onReady();
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<string>((resolve, reject) =>
      child.once("close", (exit) =>
        exit === 0 ? resolve(stdout.replace(/^ready\n/, "").trim()) : reject(new Error(`process ${i} exited ${exit}: ${stderr}`)),
      ),
    );
    return { child, ready, exited };
  });
  try {
    // Either every process reaches the start line, or one fails on its way there.
    const allReady = Promise.all(children.map((c) => c.ready));
    await within(
      "every process to reach the start line",
      Promise.race([allReady, ...children.map((c) => c.exited.then(() => undefined))]),
      60_000,
    );
    for (const c of children) c.child.stdin.end("go\n");
    return await within("every process to finish", Promise.all(children.map((c) => c.exited)), 60_000);
  } finally {
    for (const c of children) if (c.child.exitCode === null) c.child.kill("SIGKILL");
  }
}

/** Admin credentials printed by `tessera bootstrap`. */
export interface Credentials {
  clientId: string;
  clientSecret: string;
}

/** Runs `tessera bootstrap --db DB --create-dir` and returns the admin client it printed. */
export async function bootstrap(db: string, env: Record<string, string> = {}): Promise<Credentials> {
  const r = await runTessera(["bootstrap", "--db", db, "--create-dir"], { env });
  expect(r.code, r.stderr).toBe(0);
  const j = JSON.parse(r.stdout) as { client_id: string; client_secret: string };
  return { clientId: j.client_id, clientSecret: j.client_secret };
}

/** A fresh temporary folder. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `tessera-${prefix}-`));
}

/**
 * The user and group to run a child as so that file permissions apply: `nobody` when the
 * tests run as root (root ignores permission bits), nothing otherwise.
 */
export function unprivileged(): { uid?: number; gid?: number; name: string } {
  if (process.getuid?.() !== 0) return { name: "this user" };
  const id = (flag: string) => Number(spawnSync("id", [flag, "nobody"], { encoding: "utf8" }).stdout.trim());
  return { uid: id("-u"), gid: id("-g"), name: "nobody" };
}

/** A process running on a pseudo-terminal, as a person at a terminal runs it. */
export interface TerminalProcess {
  /** Everything the terminal showed so far (\r\n line ends, colour codes kept). */
  output(): string;
  /** Resolves with the output once it matches `pattern`; fails after `ms` with what was shown. */
  waitFor(pattern: RegExp, ms?: number): Promise<string>;
  /** Types `text` on the terminal (\x03 is Ctrl-C). */
  type(text: string): void;
  exited: Promise<number | null>;
}

// Every terminal process still running, so a test that failed halfway leaves none behind.
const terminals = new Set<ChildProcess>();

/** Kills the terminal processes that are still running (for afterAll/afterEach). */
export function killTerminals(): void {
  for (const child of terminals) child.kill("SIGKILL");
  terminals.clear();
}

/**
 * Runs `tessera ARGS` on a real pseudo-terminal through util-linux `script`, so stdin and
 * stdout are a TTY for the child; what the test types goes through the terminal's line
 * discipline (Ctrl-C becomes SIGINT).
 */
export function tesseraInTerminal(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): TerminalProcess {
  requireDist();
  // exec: the shell `script` starts must not stay between the terminal and tessera (it would
  // take the Ctrl-C itself and report 130).
  const command = `exec ${[process.execPath, TESSERA_BIN, ...args].map(shellWord).join(" ")}`;
  const child = spawn("script", ["-qfec", command, "/dev/null"], {
    env: { PATH: process.env.PATH ?? "", TERM: "xterm", ...opts.env },
    cwd: opts.cwd,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  const waiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of waiters) w();
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  terminals.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once("close", (code) => {
      terminals.delete(child);
      resolve(code);
    }),
  );
  return {
    output: () => out,
    waitFor: (pattern, ms = 15_000) => {
      let check = () => undefined as void;
      const shown = new Promise<string>((resolve) => {
        check = () => {
          if (!pattern.test(out)) return;
          waiters.delete(check);
          resolve(out);
        };
        waiters.add(check);
        check();
      });
      return within(`the terminal to show ${pattern}`, shown, ms).catch((err: Error) => {
        waiters.delete(check);
        throw new Error(`${err.message}; it showed:\n${out}`);
      });
    },
    type: (text) => child.stdin.write(text),
    exited,
  };
}

/** Whether util-linux `script` (the pseudo-terminal runner) is installed. */
export function hasScript(): boolean {
  return spawnSync("script", ["--version"], { stdio: "ignore" }).status === 0;
}

function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}
