// CPU profiles: `node --cpu-prof` on a server during one round, for Tessera's two doors and for
// three peers to compare with; each profile summarised by component and key frames.
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { processCpuMs } from "../lib/cpu-usage.mjs";
import { summarise } from "../lib/cpuprofile.mjs";
import { stop } from "../lib/procs.mjs";
import { round } from "../lib/rounds.mjs";
import { firstLine, messageOf } from "../lib/run-log.mjs";
import { AUDIENCE } from "../lib/setup.mjs";
import { checkSubject, grpcSubject, httpSubject } from "../lib/subjects.mjs";
import { publicJwks, startPeer, startTessera } from "../lib/targets.mjs";

/** @import { Bench } from "./setup.mjs" */
/** @import { TesseraServer } from "../lib/targets.mjs" */

/**
 * What to profile: Tessera itself, a peer script on Tessera's core and database, or the ceiling.
 * @typedef {{ id: string, title: string, door: "http" | "grpc", peer?: string }} ProfilePlan
 */

/** @type {readonly ProfilePlan[]} */
const PLANS = [
  { id: "tessera-http", title: "Tessera HTTP /oauth/token", door: "http" },
  { id: "tessera-grpc", title: "Tessera gRPC IssueToken", door: "grpc" },
  { id: "grpcjs-core", title: "grpc-js + Tessera core (throwaway peer)", door: "grpc", peer: "grpcjs-issue.mjs" },
  { id: "h2-fastpath", title: "node:http2 fast-path sketch + Tessera core (throwaway peer)", door: "grpc", peer: "h2-fastpath.mjs" },
  { id: "ceiling", title: "ceiling (for comparison with Tessera HTTP)", door: "http", peer: "ceiling.mjs" },
];

/**
 * Starts the plan's server under the profiler, with the keys its tokens verify with.
 * @param {Bench} bench
 * @param {ProfilePlan} p
 * @param {string[]} nodeArgs
 * @returns {Promise<TesseraServer>}
 */
async function startProfiled(bench, p, nodeArgs) {
  const { runRoot, pin } = bench;
  if (p.id === "ceiling" && p.peer) {
    const env = bench.peerEnv({ BENCH_PRIVATE_JWK: JSON.stringify(bench.peerJwk), BENCH_AUDIENCE: AUDIENCE });
    const srv = await startPeer(runRoot, p.id, p.peer, { cpus: pin.server, nodeArgs, env });
    return { ...srv, jwks: publicJwks(bench.peerJwk) };
  }
  if (p.peer) {
    const db = bench.copyDb(`prof-${p.id}`);
    const t = await startTessera(runRoot, "tessera (key setup)", db, { cpus: pin.server }); // creates the signing key
    await stop(t.proc);
    const srv = await startPeer(runRoot, p.id, p.peer, { cpus: pin.server, h2cOnly: true, nodeArgs, env: bench.peerEnv({ BENCH_DB: db }) });
    return { ...srv, jwks: t.jwks };
  }
  return startTessera(runRoot, `tessera (profiled ${p.door})`, bench.copyDb(`prof-${p.id}`), { cpus: pin.server, nodeArgs });
}

/**
 * A check and one round under the profiler, then the profile copied to `dir` and summarised.
 * @param {Bench} bench
 * @param {ProfilePlan} p
 * @param {TesseraServer} srv
 * @param {string} profDir where node writes the profile
 * @param {string} dir
 */
async function profileRound(bench, p, srv, profDir, dir) {
  const { report: R } = bench;
  const spec = { id: p.id, title: p.title, srv, cred: bench.creds.bench };
  const files = { work: bench.work, body: bench.settings.httpBody };
  const s = p.door === "http" ? httpSubject(files, { ...spec, path: "/oauth/token" }) : grpcSubject(files, spec);
  await checkSubject(s, bench.settings.httpBody, bench.log);
  if (s.door === "grpc") s.estRps = { 50: (R.frameworkRates?.[p.id] ?? R.mainRates?.[p.id] ?? 1000) * 0.8 };
  const r = await round(bench, s, { seconds: bench.settings.profileSeconds, latency: false, label: `${p.id} profiled` });
  const requests = 1 + r.requests;
  // The profile covers the whole process life; so does this CPU time (startup, check, round).
  const cpuMs = processCpuMs(srv.proc.pid);
  await stop(srv.proc, { signal: "SIGINT", graceMs: 20_000 });
  const file = readdirSync(profDir).find((f) => f.endsWith(".cpuprofile"));
  if (!file) throw new Error(`no .cpuprofile written in ${profDir}`);
  const dest = join(dir, `${p.id}.cpuprofile`);
  copyFileSync(join(profDir, file), dest);
  const summary = summarise(JSON.parse(readFileSync(dest, "utf8")), { requests, cpuMs, top: 30 });
  bench.log(`  [${bench.elapsed()}] profiled ${p.id}: ${requests} requests, ${summary.busyUsPerRequest} µs CPU per request`);
  return { id: p.id, title: `${p.title}: ${Math.round(r.rps)} tokens/s under the profiler`, file: dest, summary };
}

/**
 * Profiles one plan; the server is stopped also when the check or the round fails.
 * @param {Bench} bench
 * @param {ProfilePlan} p
 * @param {string} dir
 */
async function profileOne(bench, p, dir) {
  const profDir = join(bench.work, `prof-${p.id}`);
  const srv = await startProfiled(bench, p, ["--cpu-prof", `--cpu-prof-dir=${profDir}`, "--cpu-prof-interval=250"]);
  try {
    return await profileRound(bench, p, srv, profDir, dir);
  } catch (err) {
    await stop(srv.proc);
    throw err;
  }
}

/**
 * The profile phase.
 * @param {Bench} bench
 */
export async function profilePhase(bench) {
  bench.log(
    `\n[${bench.elapsed()}] profiles: node --cpu-prof during an HTTP round and a gRPC round of Tessera, and of three peers for comparison`,
  );
  const dir = join(bench.resultsDir, `${bench.stamp}-profiles`);
  mkdirSync(dir, { recursive: true });
  /** @type {NonNullable<Bench["report"]["profiles"]>} */
  const profiles = { dir, items: [] };
  bench.report.profiles = profiles;
  for (const p of PLANS) {
    try {
      profiles.items.push(await profileOne(bench, p, dir));
    } catch (err) {
      bench.fail(`profile ${p.id}`, err);
      profiles.items.push({ id: p.id, title: p.title, failure: firstLine(messageOf(err)) });
    }
  }
}
