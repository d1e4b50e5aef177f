// Child processes the benchmark starts: every one is tracked and stopped on the way out, also on
// errors and SIGINT/SIGTERM. Stopping is by pid, one process at a time.
import { spawn, spawnSync } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync } from "node:fs";
import net from "node:net";

/** @type {Set<Proc>} */
const live = new Set();
/** @type {boolean | undefined} */
let hasTasksetCache;

/** True when `taskset` is on PATH (util-linux). */
export function hasTaskset() {
  if (hasTasksetCache === undefined) hasTasksetCache = spawnSync("taskset", ["-V"], { stdio: "ignore" }).status === 0;
  return hasTasksetCache;
}

/**
 * A child process the benchmark started, with the tail of its output.
 * @typedef {object} Proc
 * @property {string} name
 * @property {import("node:child_process").ChildProcess} child
 * @property {number | undefined} pid
 * @property {string} out the last 64 KiB of stdout (nothing when it goes to a file)
 * @property {string} err the last 64 KiB of stderr
 * @property {string | undefined} stdoutFile where stdout goes instead, when it goes to a file
 * @property {number | null | undefined} exitCode undefined while it runs; -1 when it could not start
 * @property {NodeJS.Signals | null | undefined} signal
 * @property {Promise<Exit>} exited
 * @property {boolean} timedOut
 */

/** @typedef {{ code: number | null, signal: NodeJS.Signals | null }} Exit */

/**
 * How to start a child.
 * @typedef {object} StartOptions
 * @property {NodeJS.ProcessEnv} [env]
 * @property {string | undefined} [cpus] CPU list for taskset, e.g. "0"; unpinned when undefined
 * @property {string} [cwd]
 * @property {string} [stdoutFile]
 */

/**
 * Starts `cmd args` (pinned to `cpus`, e.g. "0", when taskset exists). Keeps the last 64 KiB of
 * stdout and stderr for error messages; `stdoutFile` sends stdout to a file instead (a server's
 * per-request log lines, which a pipe to this harness could slow down). taskset execs the
 * command, so `pid` is the program's.
 * @param {string} name
 * @param {string} cmd
 * @param {readonly string[]} args
 * @param {StartOptions} [options]
 * @returns {Proc}
 */
export function start(name, cmd, args, { env = process.env, cpus, cwd, stdoutFile } = {}) {
  const [file, argv] = cpus !== undefined && hasTaskset() ? ["taskset", ["-c", cpus, cmd, ...args]] : [cmd, args];
  const outFd = stdoutFile ? openSync(stdoutFile, "a") : undefined;
  const child = spawn(file, argv, { env, cwd, stdio: ["ignore", outFd ?? "pipe", "pipe"] });
  if (outFd !== undefined) closeSync(outFd);
  /** @type {Promise<Exit>} */
  const exited = new Promise((resolve) => {
    child.on("exit", (code, signal) => {
      p.exitCode = code;
      p.signal = signal;
      live.delete(p);
      resolve({ code, signal });
    });
    child.on("error", (err) => {
      p.err += `\nspawn error: ${err.message}`;
      p.exitCode = -1;
      live.delete(p);
      resolve({ code: -1, signal: null });
    });
  });
  /** @type {Proc} */
  const p = { name, child, pid: child.pid, out: "", err: "", stdoutFile, exitCode: undefined, signal: undefined, exited, timedOut: false };
  /** @param {"out" | "err"} k */
  const keep = (k) => (/** @type {Buffer} */ chunk) => {
    p[k] += chunk.toString();
    if (p[k].length > 65536) p[k] = p[k].slice(-65536);
  };
  child.stdout?.on("data", keep("out"));
  child.stderr?.on("data", keep("err"));
  live.add(p);
  return p;
}

/**
 * Runs a command to completion (bounded by `timeoutMs`, then killed); resolves with its output.
 * @param {string} name
 * @param {string} cmd
 * @param {readonly string[]} args
 * @param {StartOptions & { timeoutMs?: number }} [options]
 */
export async function run(name, cmd, args, { timeoutMs, ...opts } = {}) {
  const p = start(name, cmd, args, opts);
  const timer = setTimeout(() => {
    p.timedOut = true;
    p.child.kill("SIGKILL");
  }, timeoutMs ?? 60_000);
  const { code, signal } = await p.exited;
  clearTimeout(timer);
  if (p.timedOut) throw new Error(`${name} did not finish within ${timeoutMs} ms and was killed\n${p.err.slice(-2000)}`);
  return { code, signal, stdout: p.out, stderr: p.err };
}

/**
 * Stops one process: `signal`, then SIGKILL after `graceMs`.
 * @param {Proc | undefined} p
 * @param {{ signal?: NodeJS.Signals, graceMs?: number }} [options]
 */
export async function stop(p, { signal = "SIGTERM", graceMs = 5000 } = {}) {
  if (!p || p.exitCode !== undefined) return;
  p.child.kill(signal);
  const timer = setTimeout(() => p.child.kill("SIGKILL"), graceMs);
  await p.exited;
  clearTimeout(timer);
}

/** Stops every process still running, one by one. */
export async function stopAll() {
  for (const p of [...live]) await stop(p, { graceMs: 2000 });
}

let installed = false;
/**
 * Makes SIGINT/SIGTERM and process exit stop what we started.
 * @param {() => Promise<void>} [onSignal]
 */
export function installCleanup(onSignal) {
  if (installed) return;
  installed = true;
  /** @param {NodeJS.Signals} sig */
  const handler = (sig) => {
    process.stderr.write(`\nbench: ${sig}: stopping ${live.size} child process(es)\n`);
    void (onSignal ? onSignal() : Promise.resolve()).finally(() => stopAll().finally(() => process.exit(130)));
  };
  process.once("SIGINT", handler);
  process.once("SIGTERM", handler);
  process.on("exit", () => {
    for (const p of live) p.child.kill("SIGKILL");
  });
}

/**
 * A free TCP port on 127.0.0.1 (bound and released; fine for a benchmark).
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {net.AddressInfo} */ (s.address());
      s.close(() => resolve(port));
    });
  });
}

/**
 * Waits until `url` answers (any HTTP status) or `timeoutMs` passes or the process exits. The
 * bounds are wide on purpose: on a loaded machine a pinned server can take many seconds to
 * start and to answer its first request.
 * @param {string} url
 * @param {Proc} p
 */
export async function waitForHttp(url, p, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  /** @type {unknown} */
  let last;
  while (Date.now() < deadline) {
    if (p.exitCode !== undefined)
      throw new Error(
        `${p.name} exited (${p.exitCode ?? p.signal}) before listening:\n${p.err.slice(-3000)}${p.out.slice(-1000)}${logTail(p)}`,
      );
    try {
      await fetch(url, { signal: AbortSignal.timeout(5000) });
      return;
    } catch (err) {
      last = err;
      await sleep(100);
    }
  }
  const why = last instanceof Error ? `${last.message}${last.cause instanceof Error ? ` (${last.cause.message})` : ""}` : String(last);
  throw new Error(`${p.name} did not answer ${url} within ${timeoutMs} ms; last attempt: ${why}\n${p.err.slice(-3000)}${logTail(p)}`);
}

/**
 * The last lines of a process's stdout file, for an error message.
 * @param {Proc} p
 */
function logTail(p) {
  if (p.stdoutFile === undefined) return "";
  try {
    return `\n${p.stdoutFile} ends:\n${readFileSync(p.stdoutFile, "utf8").split("\n").slice(-10).join("\n")}`;
  } catch {
    return `\n(${p.stdoutFile} cannot be read)`;
  }
}

/**
 * Waits until a TCP connect to 127.0.0.1:port succeeds (for servers that speak only h2c).
 * @param {number} port
 * @param {Proc} p
 */
export async function waitForTcp(port, p, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (p.exitCode !== undefined) throw new Error(`${p.name} exited (${p.exitCode ?? p.signal}) before listening:\n${p.err.slice(-3000)}`);
    /** @type {boolean} */
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`${p.name} did not listen on ${port} within ${timeoutMs} ms:\n${p.err.slice(-3000)}`);
}

/**
 * Resolves after `ms` (the timer keeps the process alive meanwhile).
 * @param {number} ms
 * @returns {Promise<void>}
 */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * {rssKb, hwmKb} of one pid from /proc (undefined where /proc is missing).
 * @param {number | undefined} pid
 */
export function memOf(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (/** @type {string} */ k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(s)?.[1]);
    return { rssKb: kb("VmRSS"), hwmKb: kb("VmHWM") };
  } catch {
    return undefined;
  }
}

/**
 * pid and all its descendants (a cluster primary and its workers).
 * @param {number} pid
 */
export function processTree(pid) {
  /** @type {Map<number, number>} */
  const parent = new Map();
  try {
    for (const d of readdirSync("/proc")) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const stat = readFileSync(`/proc/${d}/stat`, "utf8");
        parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
      } catch {
        /* exited meanwhile */
      }
    }
  } catch {
    return [pid];
  }
  const out = [pid];
  for (let i = 0; i < out.length && i < 1000; i++) for (const [c, pp] of parent) if (pp === out[i]) out.push(c);
  return out;
}

/**
 * Memory of a process tree: summed RSS now, summed peak RSS (each process's own peak).
 * @param {number} pid
 */
export function treeMem(pid) {
  let rssKb = 0;
  let hwmKb = 0;
  const pids = processTree(pid);
  for (const p of pids) {
    const m = memOf(p);
    if (m) {
      rssKb += m.rssKb;
      hwmKb += m.hwmKb;
    }
  }
  return { rssKb, hwmKb, processes: pids.length };
}
