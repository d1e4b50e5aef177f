import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { TESSERA_BIN } from "./ops-process.js";

/** How a `tessera` run ended and what it printed. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Options for one `tessera` run. */
export interface CliOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Written to stdin, which is then closed (stdin is a pipe, never a terminal). */
  input?: string;
  /** Run as this user and group (see `unprivileged`). */
  uid?: number;
  gid?: number;
  timeoutMs?: number;
}

/** Runs `tessera ARGS` to completion without blocking the event loop (servers started by the test keep serving). */
export function tessera(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [TESSERA_BIN, ...args], {
      env: { PATH: process.env.PATH ?? "", ...opts.env },
      cwd: opts.cwd,
      stdio: ["pipe", "pipe", "pipe"],
      ...(opts.uid === undefined ? {} : { uid: opts.uid, gid: opts.gid }),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(opts.input ?? "");
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 20_000);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
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
  /** Resolves with the output once it matches `pattern`; rejects after `ms` with what was shown. */
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
    waitFor: (pattern, ms = 15_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (!pattern.test(out)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(out);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the terminal never showed ${pattern}; it showed:\n${out}`));
        }, ms);
        waiters.add(check);
        check();
      }),
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

/** A `tessera serve` started exactly as given (no --port, --host or --db added), up and listening. */
export interface ServeProcess {
  /** Every stdout line so far, parsed as JSON. */
  logs: Record<string, unknown>[];
  /** The "tessera listening" line. */
  listening: Record<string, unknown>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Runs `tessera serve ARGS` and resolves once it logs that it listens; rejects with its output if it exits first. */
export async function serve(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, [TESSERA_BIN, "serve", ...args], {
    env: { PATH: process.env.PATH ?? "", ...opts.env },
    cwd: opts.cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const logs: Record<string, unknown>[] = [];
  const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stdout }).on("line", (line) => {
      const rec = JSON.parse(line) as Record<string, unknown>;
      logs.push(rec);
      if (rec.msg === "tessera listening") resolve(rec);
    });
    void exited.then((code) => reject(new Error(`tessera serve exited (${code}) before listening: ${stderr}`)));
  });
  return {
    logs,
    listening,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}
