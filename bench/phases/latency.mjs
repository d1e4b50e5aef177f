// Latency of the main targets beside the saturated rounds: at one connection, and at 50
// connections under a fixed offered load below every target's capacity (h2load --rps).
import { rmSync } from "node:fs";
import { join } from "node:path";
import { assertH2loadClean, h2loadRound, latencyFromLog } from "../lib/h2load.mjs";
import { round } from "../lib/rounds.mjs";
import { msText } from "../lib/run-log.mjs";
import { forEachLive, h2loadRequest } from "../lib/subjects.mjs";

/** @import { Bench } from "./setup.mjs" */
/** @import { PacedResult, Subject } from "../lib/subjects.mjs" */

/**
 * One round at one connection per subject (not in --quick).
 * @param {Bench} bench
 * @param {readonly Subject[]} subjects
 */
export async function latencyAtOneConnection(bench, subjects) {
  const { settings: S, log, elapsed } = bench;
  if (S.c1Seconds <= 0) return;
  const where = (/** @type {Subject} */ s) => `${s.title} concurrency 1`;
  await forEachLive(
    subjects,
    where,
    async (s) => {
      if (s.door === "grpc") await round(bench, s, { connections: 1, seconds: 1, latency: false, label: `${s.id} c1 probe` });
      const r = await round(bench, s, { connections: 1, seconds: S.c1Seconds, label: `${s.id} concurrency 1` });
      s.c1 = { rps: r.rps, p50: r.p50, p99: r.p99 };
      log(`  [${elapsed()}] concurrency 1 ${s.id}: ${Math.round(r.rps)} tokens/s, p50 ${msText(r.p50)} ms, p99 ${msText(r.p99)} ms`);
    },
    bench.fail,
  );
}

/**
 * One paced round per subject (not in --quick, and only with h2load).
 * @param {Bench} bench
 * @param {readonly Subject[]} subjects
 */
export async function pacedLatency(bench, subjects) {
  const { settings: S, log, elapsed } = bench;
  if (S.pacedSeconds <= 0 || !bench.machine.tools.h2load) return;
  const where = (/** @type {Subject} */ s) => `${s.title} paced ${S.pacedRate}/s`;
  await forEachLive(
    subjects,
    where,
    async (s) => {
      const paced = await pacedRound(bench, s);
      s.paced = paced;
      log(
        `  [${elapsed()}] paced ${S.pacedRate}/s ${s.id}: ${Math.round(paced.rps)} tokens/s answered, p50 ${msText(paced.p50)} ms, p99 ${msText(paced.p99)} ms`,
      );
    },
    bench.fail,
  );
}

/**
 * Latency at 50 connections under a fixed offered load (S.pacedRate tokens/s in all, spread
 * over the connections with h2load --rps): what callers see when the server is not saturated.
 * Every answer must be a 2xx (and for gRPC carry a token).
 * @param {Bench} bench
 * @param {Subject} s
 * @returns {Promise<PacedResult>}
 */
async function pacedRound(bench, s) {
  const { settings: S } = bench;
  const label = `${s.id} paced`;
  const logFile = join(bench.work, `${s.id}-paced-${Date.now()}.log`);
  const { replyDataBytes, ...request } = h2loadRequest(s, bench.work, S.httpBody);
  const r = await h2loadRound({
    ...request,
    connections: S.connections,
    requests: S.pacedRate * S.pacedSeconds,
    cpus: bench.pin.load,
    rpsPerConnection: S.pacedRate / S.connections,
    logFile,
    label,
    maxSeconds: S.pacedSeconds * 8 + 30,
  });
  assertH2loadClean(r, { label, replyDataBytes });
  const l = latencyFromLog(logFile);
  rmSync(logFile, { force: true });
  return { rate: S.pacedRate, rps: r.rps, p50: l.p50, p99: l.p99 };
}
