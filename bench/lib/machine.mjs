// The machine the numbers come from, the tools found, and the CPU pinning plan.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import { hasTaskset } from "./procs.mjs";

/**
 * The version a tool prints, "present" when it prints none we recognise, undefined when missing.
 * @param {string} cmd
 * @param {readonly string[]} args
 * @param {RegExp} re
 */
function toolVersion(cmd, args, re) {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 5000 });
  if (r.error) return undefined;
  const m = re.exec(`${r.stdout}${r.stderr}`);
  return m ? m[1] : "present";
}

/** @typedef {ReturnType<typeof describeMachine>} Machine */

/** CPU model, cores, memory, Node, kernel, and the load tools on PATH. */
export function describeMachine() {
  let cpuModel = os.cpus()[0]?.model;
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? cpuModel;
  } catch {
    /* not Linux */
  }
  return {
    cpuModel,
    cores: os.availableParallelism?.() ?? os.cpus().length,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    tools: {
      wrk: toolVersion("wrk", ["-v"], /wrk (\S+)/),
      h2load: toolVersion("h2load", ["--version"], /nghttp2\/(\S+)/),
      taskset: hasTaskset() ? "present" : undefined,
    },
  };
}

/**
 * Which CPUs (taskset lists) each side runs on; all undefined when nothing is pinned.
 * @typedef {object} PinningPlan
 * @property {boolean} pinned
 * @property {string | undefined} server the servers under test
 * @property {string | undefined} load the load generators and this harness
 * @property {string | undefined} all every core, for a child that must not inherit the harness's
 * @property {string} text what the plan is, for the report
 */

/**
 * Server on core 0, load generator (and this harness) on core 1, when taskset exists and there
 * are two cores or more. Otherwise nothing is pinned, and the output says so.
 * @param {Machine} machine
 * @returns {PinningPlan}
 */
export function pinningPlan(machine) {
  if (machine.tools.taskset && machine.cores >= 2) {
    spawnSync("taskset", ["-a", "-p", "-c", "1", String(process.pid)], { stdio: "ignore" });
    // Children inherit this process's affinity: `all` is what an unpinned child must ask for.
    return {
      pinned: true,
      server: "0",
      load: "1",
      all: `0-${machine.cores - 1}`,
      text: "server pinned to CPU 0, load generator and harness to CPU 1 (taskset)",
    };
  }
  const why = machine.tools.taskset ? `only ${machine.cores} core` : "taskset not found";
  return {
    pinned: false,
    server: undefined,
    load: undefined,
    all: undefined,
    text: `NOT pinned (${why}): server and load generator share the cores`,
  };
}

const SIGN_LOOP = `
const c = require("node:crypto");
const key = c.generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
const data = Buffer.alloc(300, 120);
for (let i = 0; i < 200; i++) c.sign("sha256", data, { key, dsaEncoding: "ieee-p1363" });
const t0 = process.hrtime.bigint(); let n = 0;
while (process.hrtime.bigint() - t0 < 1000000000n && n < 1e7) { c.sign("sha256", data, { key, dsaEncoding: "ieee-p1363" }); n++; }
const cpu = process.cpuUsage();
process.stdout.write(JSON.stringify({ n, cpuMs: (cpu.user + cpu.system) / 1000 }));
`;

/**
 * A one-second yardstick on the server core: ES256 signatures per second with node:crypto, in
 * wall time and per CPU second. When wall < CPU rate, something else was using the core.
 * @param {string | undefined} cpus
 * @returns {{ es256SignsPerSecond: number, es256SignsPerCpuSecond: number } | undefined}
 */
export function calibrate(cpus) {
  const args = ["-e", SIGN_LOOP];
  const [cmd, argv] = cpus !== undefined && hasTaskset() ? ["taskset", ["-c", cpus, process.execPath, ...args]] : [process.execPath, args];
  const r = spawnSync(cmd, argv, { encoding: "utf8", timeout: 20_000 });
  try {
    /** @type {{ n: number, cpuMs: number }} */
    const { n, cpuMs } = JSON.parse(r.stdout);
    return { es256SignsPerSecond: n, es256SignsPerCpuSecond: Math.round((n * 1000) / cpuMs) };
  } catch {
    return undefined;
  }
}
