// How busy the server's core was during a round, and with what: the server itself, other
// processes (this VM is shared: tests, compilers), or the hypervisor (steal). Linux /proc only.
import { readFileSync } from "node:fs";
import { processTree } from "./procs.mjs";

/**
 * How core `cpu` is used since boot, in ticks (undefined without /proc or such a core).
 * @param {string} cpu
 */
function cpuLine(cpu) {
  try {
    const line = readFileSync("/proc/stat", "utf8")
      .split("\n")
      .find((l) => l.startsWith(`cpu${cpu} `));
    if (line === undefined) return undefined;
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    return { busy: user + nice + system + irq + softirq, idle: idle + iowait, steal };
  } catch {
    return undefined;
  }
}

/**
 * CPU ticks a process (all threads) has used so far (undefined without /proc or such a process).
 * @param {number | undefined} pid
 */
function procTicks(pid) {
  if (pid === undefined) return undefined;
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return Number(f[11]) + Number(f[12]); // utime + stime, all threads
  } catch {
    return undefined;
  }
}

// /proc reports CPU time in USER_HZ ticks, 100 per second on Linux.
const TICK_MS = 10;

/**
 * CPU time a process (all threads) has used so far, ms; undefined without /proc.
 * @param {number | undefined} pid
 */
export function processCpuMs(pid) {
  const t = procTicks(pid);
  return t === undefined ? undefined : t * TICK_MS;
}

/**
 * How a server used the CPU over a round: its own CPU time and, when it has a core of its own,
 * how that core was shared (%).
 * @typedef {object} CoreUse
 * @property {number} serverCpuMs
 * @property {number} [serverPct]
 * @property {number} [otherPct] other processes on the server's core
 * @property {number} [stealPct] the hypervisor
 * @property {number} [idlePct]
 */

/**
 * Starts measuring core `cpu` and process `pid`; call the result to get the server's CPU time
 * (ms) and how the core was shared (% server / others / steal / idle). Without a core (nothing
 * pinned) only the CPU time is returned.
 * @param {string | undefined} cpu
 * @param {number} pid
 * @returns {() => CoreUse | undefined}
 */
export function measureCore(cpu, pid) {
  const a = cpu === undefined ? undefined : cpuLine(cpu);
  const p = procTicks(pid);
  return () => {
    const b = cpu === undefined ? undefined : cpuLine(cpu);
    const q = procTicks(pid);
    if (p === undefined || q === undefined) return undefined;
    if (!a || !b) return { serverCpuMs: (q - p) * TICK_MS };
    const total = b.busy - a.busy + (b.idle - a.idle) + (b.steal - a.steal);
    if (total <= 0) return undefined;
    const server = q - p;
    const pct = (/** @type {number} */ x) => Math.round((1000 * x) / total) / 10;
    return {
      serverCpuMs: server * TICK_MS,
      serverPct: pct(server),
      otherPct: pct(Math.max(0, b.busy - a.busy - server)),
      stealPct: pct(b.steal - a.steal),
      idlePct: pct(b.idle - a.idle),
    };
  };
}

/**
 * CPU time of a process and all its descendants (a cluster), ms; call the result to read it.
 * @param {number} pid
 * @returns {() => CoreUse}
 */
export function measureTree(pid) {
  const sum = () => processTree(pid).reduce((t, p) => t + (procTicks(p) ?? 0), 0);
  const a = sum();
  return () => ({ serverCpuMs: (sum() - a) * TICK_MS });
}
