// Load rounds on subjects: one round (wrk or h2load, or the Node generator in --quick without
// them), the warm-up, interleaved rounds with an extra pass for noisy ones, and a subject's
// figures over its rounds.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { measureCore, measureTree } from "./cpu-usage.mjs";
import { assertH2loadClean, h2loadRound, latencyFromLog } from "./h2load.mjs";
import { nodeGrpcRound, nodeHttpRound } from "./node-load.mjs";
import { messageOf, msText } from "./run-log.mjs";
import { spread } from "./stats.mjs";
import { checkSubject, forEachLive, h2loadRequest } from "./subjects.mjs";
import { wrkRound } from "./wrk.mjs";

/** @import { Bench } from "../phases/setup.mjs" */
/** @import { GrpcSubject, HttpSubject, RoundResult, Subject } from "./subjects.mjs" */

/**
 * @typedef {object} RoundOptions
 * @property {number} seconds
 * @property {number} [connections] the settings' (50) by default
 * @property {string} [label] names the round in logs and errors
 * @property {boolean} [latency] false: skip the per-request log (probes, warm-ups)
 */

/** @typedef {{ connections: number, seconds: number, label: string, latency: boolean, cpus: string | undefined }} LoadPlan */

// A round during which other processes or the hypervisor took more than this share of the
// server's core measures the machine, not the server.
const NOISY_PCT = 5;

/**
 * One load round on a subject; returns { rps, p50, p99, requests, core }. `core` says how the
 * server's core was used meanwhile (server / other processes / steal / idle, %). Throws when any
 * answer is wrong.
 * @param {Bench} bench
 * @param {Subject} s
 * @param {RoundOptions} opts
 * @returns {Promise<RoundResult>}
 */
export async function round(bench, s, { connections = bench.settings.connections, seconds, label = s.id, latency = true }) {
  const { pin } = bench;
  const pid = s.proc.pid;
  // A cluster (unpinned) is measured as its whole process tree, without the core's sharing.
  const done = !pid ? undefined : s.unpinned ? measureTree(pid) : measureCore(pin.pinned ? pin.server : undefined, pid);
  // The load generator of an unpinned server may use every core, as the server does.
  const plan = { connections, seconds, label, latency, cpus: s.unpinned ? pin.all : pin.load };
  const r = s.door === "http" ? await httpLoad(bench, s, plan) : await grpcLoad(bench, s, plan);
  const core = done?.();
  // Server CPU time per token: unlike tokens/s it hardly moves when other processes share the core.
  const cpuUsPerToken = core && r.requests ? Math.round((core.serverCpuMs * 1000) / r.requests) : undefined;
  return { ...r, core, cpuUsPerToken };
}

/**
 * The form endpoint under wrk (or the Node generator).
 * @param {Bench} bench
 * @param {HttpSubject} s
 * @param {LoadPlan} plan
 */
async function httpLoad(bench, s, { connections, seconds, label, cpus }) {
  const { bodies } = s;
  if (!bench.machine.tools.wrk) {
    const nextBody = bodies ? () => bodies.next() : undefined;
    const r = await nodeHttpRound({
      url: s.url,
      authorization: s.authorization,
      body: bench.settings.httpBody,
      nextBody,
      connections,
      seconds,
      label,
    });
    return { rps: r.rps, requests: r.requests };
  }
  // Fresh bodies for the round: 1.5 times what the fastest round so far would use (5,000/s before any).
  if (bodies) bodies.write(Math.ceil(1.5 * seconds * Math.max(5000, ...s.rounds.map((x) => x.rps))) + 1000);
  const r = await wrkRound({ url: s.url, script: s.script, connections, seconds, cpus, label });
  return { rps: r.rps, requests: r.requests, p50: r.latencyMs.p50, p99: r.latencyMs.p99 };
}

/**
 * IssueToken under h2load (or the Node generator). h2load rounds are counted, sized from the
 * subject's last measured rate so that a round lasts about `seconds`.
 * @param {Bench} bench
 * @param {GrpcSubject} s
 * @param {LoadPlan} plan
 */
async function grpcLoad(bench, s, { connections, seconds, label, latency, cpus }) {
  if (!bench.machine.tools.h2load) {
    const r = await nodeGrpcRound({ baseUrl: s.base, path: s.path, frame: s.frame, connections, seconds, label });
    return { rps: r.rps, requests: r.requests };
  }
  const est = s.estRps?.[connections] ?? (connections === 1 ? 300 : 1000);
  const n = Math.max(connections * 4, Math.min(5_000_000, Math.round(est * seconds)));
  const logFile = latency ? join(bench.work, `${s.id}-${Date.now()}.log`) : undefined;
  const { replyDataBytes, ...request } = h2loadRequest(s, bench.work, bench.settings.httpBody);
  const r = await h2loadRound({ ...request, connections, requests: n, cpus, logFile, label, maxSeconds: Math.max(60, seconds * 8) });
  assertH2loadClean(r, { label, replyDataBytes });
  s.estRps = { ...s.estRps, [connections]: r.rps };
  const l = logFile ? latencyFromLog(logFile) : undefined;
  if (logFile) rmSync(logFile, { force: true });
  return { rps: r.rps, requests: r.total, p50: l?.p50, p99: l?.p99 };
}

/**
 * Warm-up (also sizes the counted gRPC rounds); failures count like round failures.
 * @param {Bench} bench
 * @param {Subject} s
 * @param {number} seconds
 */
export async function warm(bench, s, seconds) {
  if (s.door === "grpc" && bench.machine.tools.h2load) await round(bench, s, { seconds: 0.0001, latency: false, label: `${s.id} probe` });
  if (seconds > 0) await round(bench, s, { seconds, latency: false, label: `${s.id} warm-up` });
}

/**
 * Checks each subject, warms it for `seconds`, then runs `then` on it, if given; a subject that
 * fails any of them is marked failed and gets no rounds.
 * @template {Subject} S
 * @param {Bench} bench
 * @param {readonly S[]} subjects
 * @param {number} seconds
 * @param {(s: S) => Promise<void>} [then]
 */
export async function checkAndWarm(bench, subjects, seconds, then) {
  const step = async (/** @type {S} */ s) => {
    await checkSubject(s, bench.settings.httpBody, bench.log);
    await warm(bench, s, seconds);
    if (then) await then(s);
  };
  await forEachLive(subjects, (s) => s.title, step, bench.fail);
}

/**
 * Others or the hypervisor took more than NOISY_PCT of the server's core.
 * @param {RoundResult} r
 */
const noisy = (r) => r.core?.otherPct !== undefined && r.core.otherPct + (r.core.stealPct ?? 0) > NOISY_PCT;

/**
 * Interleaved rounds over subjects: round 1 of each, round 2 of each ... Then, for a subject
 * with fewer than `count` quiet rounds, an extra pass (not in --quick). A failing subject stops there.
 * @param {Bench} bench
 * @param {readonly Subject[]} subjects
 * @param {{ count: number, seconds: number, what: string }} plan
 */
export async function rounds(bench, subjects, { count, seconds, what }) {
  const { log, elapsed, fail } = bench;
  /**
   * @param {Subject} s
   * @param {string} label
   */
  const one = async (s, label) => {
    try {
      const r = await round(bench, s, { seconds, label: `${s.id} ${label}` });
      r.noisy = noisy(r);
      s.rounds.push(r);
      const c =
        r.core?.serverPct !== undefined
          ? `; ${r.cpuUsPerToken} µs server CPU/token; server core: server ${r.core.serverPct}%, others ${r.core.otherPct}%, steal ${r.core.stealPct}%, idle ${r.core.idlePct}%${r.noisy ? " NOISY" : ""}`
          : "";
      log(`  [${elapsed()}] ${what} ${label} ${s.id}: ${Math.round(r.rps)} tokens/s, p50 ${msText(r.p50)} ms, p99 ${msText(r.p99)} ms${c}`);
    } catch (err) {
      s.failure = messageOf(err);
      fail(s.title, err);
    }
  };
  for (let i = 0; i < count; i++) for (const s of subjects) if (!s.failure) await one(s, `round ${i + 1}/${count}`);
  const extraPasses = bench.quick ? 0 : 1;
  for (let extra = 1; extra <= extraPasses; extra++) {
    const short = subjects.filter((s) => !s.failure && s.rounds.filter((r) => !r.noisy).length < count);
    if (short.length === 0) break;
    for (const s of short) await one(s, `extra round ${extra} (earlier rounds were noisy)`);
  }
}

/** @typedef {ReturnType<typeof finish>} SubjectSummary */

/**
 * A subject's figures over its rounds. Noisy rounds stay in `rounds` (and the JSON) but the
 * medians use the quiet ones when there are at least two of them.
 * @param {Bench} bench
 * @param {Subject} s
 */
export function finish(bench, s) {
  const { tools } = bench.machine;
  const quiet = s.rounds.filter((r) => !r.noisy);
  const used = quiet.length >= 2 ? quiet : s.rounds;
  return {
    id: s.id,
    title: s.title,
    door: s.door,
    generator: s.door === "http" ? (tools.wrk ? "wrk" : "node") : tools.h2load ? "h2load (h2c)" : "node http2",
    rounds: s.rounds,
    roundCount: used.length,
    noisyRoundsLeftOut: s.rounds.length - used.length,
    rps: spread(used, (r) => r.rps),
    p50: spread(used, (r) => r.p50),
    p99: spread(used, (r) => r.p99),
    c1: s.c1,
    paced: s.paced,
    cpuUsPerToken: spread(used, (r) => r.cpuUsPerToken),
    serverCorePct: spread(used, (r) => r.core?.serverPct),
    othersOnServerCorePct: spread(used, (r) => r.core?.otherPct),
    stealOnServerCorePct: spread(used, (r) => r.core?.stealPct),
    peakRssKb: s.peakRssKb,
    failure: s.failure,
  };
}
