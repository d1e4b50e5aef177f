// The main comparison: Tessera's form endpoint and gRPC IssueToken beside node-oidc-provider
// and the ceiling, saturated at 50 connections in interleaved rounds, then latency at one
// connection and under a paced load. In --quick: the checks, the harness's self-test and one
// short round each.
import { detectFeatures } from "../lib/features.mjs";
import { atLeast, below, round2 } from "../lib/goals.mjs";
import { memOf, stop } from "../lib/procs.mjs";
import { finish, rounds, warm } from "../lib/rounds.mjs";
import { wrongSecretRoundsFail } from "../lib/self-test.mjs";
import { AUDIENCE } from "../lib/setup.mjs";
import { ratio } from "../lib/stats.mjs";
import { checkSubject, forEachLive, grpcSubject, httpSubject } from "../lib/subjects.mjs";
import { publicJwks, startPeer, startTessera } from "../lib/targets.mjs";
import { latencyAtOneConnection, pacedLatency } from "./latency.mjs";

/** @import { Bench } from "./setup.mjs" */
/** @import { Goal } from "../lib/goals.mjs" */
/** @import { SubjectSummary } from "../lib/rounds.mjs" */
/** @import { Subject } from "../lib/subjects.mjs" */

/**
 * Tessera twice (one server per door, so neither warms the other), node-oidc-provider and the
 * ceiling, all on the server core.
 * @param {Bench} bench
 */
async function startServers(bench) {
  const { runRoot, copyDb, pin } = bench;
  const peerEnv = bench.peerEnv({ BENCH_PRIVATE_JWK: JSON.stringify(bench.peerJwk), BENCH_AUDIENCE: AUDIENCE });
  const [th, tg, op, ce] = await Promise.all([
    startTessera(runRoot, "tessera (http)", copyDb("main-http"), { cpus: pin.server }),
    startTessera(runRoot, "tessera (grpc)", copyDb("main-grpc"), { cpus: pin.server }),
    startPeer(runRoot, "node-oidc-provider", "oidc-provider.mjs", {
      cpus: pin.server,
      readyPath: "/.well-known/openid-configuration",
      env: peerEnv,
    }),
    startPeer(runRoot, "ceiling", "ceiling.mjs", { cpus: pin.server, env: peerEnv }),
  ]);
  return { th, tg, op, ce };
}

/**
 * The four subjects, in the order of the report's table.
 * @param {Bench} bench
 * @param {Awaited<ReturnType<typeof startServers>>} servers
 * @returns {Subject[]}
 */
function mainSubjects(bench, { th, tg, op, ce }) {
  const files = { work: bench.work, body: bench.settings.httpBody };
  const cred = bench.creds.bench;
  const peerKeys = publicJwks(bench.peerJwk);
  return [
    httpSubject(files, { id: "tessera-http", title: "Tessera POST /oauth/token", srv: th, path: "/oauth/token", cred }),
    grpcSubject(files, { id: "tessera-grpc", title: "Tessera gRPC IssueToken (h2c)", srv: tg, cred }),
    httpSubject(files, {
      id: "oidc-provider",
      title: "node-oidc-provider 9 POST /token (peer)",
      srv: op,
      path: "/token",
      cred,
      jwks: peerKeys,
    }),
    httpSubject(files, {
      id: "ceiling",
      title: "ceiling: node:http + SHA-256 + node:crypto ES256",
      srv: ce,
      path: "/oauth/token",
      cred,
      jwks: peerKeys,
    }),
  ];
}

/**
 * The main phase.
 * @param {Bench} bench
 */
export async function mainPhase(bench) {
  const { settings: S, log, elapsed, fail, report: R } = bench;
  log(`\n[${elapsed()}] main: Tessera HTTP, Tessera gRPC, node-oidc-provider, ceiling`);
  const servers = await startServers(bench);
  const subjects = mainSubjects(bench, servers);
  await detectFeatures(bench, servers.th);
  await forEachLive(
    subjects,
    (s) => s.title,
    (s) => checkSubject(s, S.httpBody, log),
    fail,
  );
  if (bench.quick) await wrongSecretRoundsFail(bench, subjects);
  await forEachLive(
    subjects,
    (s) => `${s.title} warm-up`,
    (s) => warm(bench, s, S.warmupSeconds),
    fail,
  );
  await rounds(bench, subjects, { count: S.rounds, seconds: S.seconds, what: "main" });
  await latencyAtOneConnection(bench, subjects);
  await pacedLatency(bench, subjects);
  for (const s of subjects) s.peakRssKb = memOf(s.proc.pid)?.hwmKb;
  for (const srv of Object.values(servers)) await stop(srv.proc);
  const main = subjects.map((s) => finish(bench, s));
  R.main = main;
  R.mainRates = Object.fromEntries(main.map((s) => [s.id, s.rps?.median]));
  if (!bench.quick) R.ratios = mainGoals(bench.settings.pacedRate, main);
}

/**
 * Throughput, CPU per token and p99 against the goals.
 * @param {number} pacedRate
 * @param {readonly SubjectSummary[]} main
 * @returns {Goal[]}
 */
function mainGoals(pacedRate, main) {
  /** @param {string} id */
  const by = (id) => {
    const s = main.find((x) => x.id === id);
    if (!s) throw new Error(`no ${id} row`);
    return s;
  };
  const [th, tg, op, ce] = [by("tessera-http"), by("tessera-grpc"), by("oidc-provider"), by("ceiling")];
  const [http, grpc, peer, ceil] = [th, tg, op, ce].map((s) => s.rps?.median);
  const [cpuHttp, cpuGrpc, cpuPeer, cpuCeil] = [th, tg, op, ce].map((s) => s.cpuUsPerToken?.median);
  return [
    { what: "Tessera HTTP / node-oidc-provider", goal: "≥ 2", measured: ratio(http, peer), met: atLeast(ratio(http, peer), 2) },
    { what: "Tessera HTTP / ceiling", goal: "≥ 0.75", measured: ratio(http, ceil), met: atLeast(ratio(http, ceil), 0.75) },
    { what: "Tessera gRPC / Tessera HTTP", goal: "≥ 0.60", measured: ratio(grpc, http), met: atLeast(ratio(grpc, http), 0.6) },
    {
      what: "same, by server CPU per token: peer µs / Tessera HTTP µs",
      goal: "≥ 2",
      measured: ratio(cpuPeer, cpuHttp),
      met: atLeast(ratio(cpuPeer, cpuHttp), 2),
    },
    {
      what: "same, by server CPU per token: ceiling µs / Tessera HTTP µs",
      goal: "≥ 0.75",
      measured: ratio(cpuCeil, cpuHttp),
      met: atLeast(ratio(cpuCeil, cpuHttp), 0.75),
    },
    {
      what: "same, by server CPU per token: Tessera HTTP µs / gRPC µs",
      goal: "≥ 0.60",
      measured: ratio(cpuHttp, cpuGrpc),
      met: atLeast(ratio(cpuHttp, cpuGrpc), 0.6),
    },
    {
      what: `Tessera HTTP p99 @50, saturated (ms; ceiling: ${round2(ce.p99?.median)})`,
      goal: "< 10",
      measured: round2(th.p99?.median),
      met: below(th.p99?.median, 10),
    },
    { what: "Tessera gRPC p99 @50, saturated (ms)", goal: "< 10", measured: round2(tg.p99?.median), met: below(tg.p99?.median, 10) },
    ...(th.paced
      ? [
          {
            what: `Tessera HTTP p99 @50, paced at ${pacedRate} tokens/s (ms; ceiling: ${round2(ce.paced?.p99)}, peer: ${round2(op.paced?.p99)})`,
            goal: "< 10",
            measured: round2(th.paced.p99),
            met: below(th.paced.p99, 10),
          },
          {
            what: `Tessera gRPC p99 @50, paced at ${pacedRate} tokens/s (ms)`,
            goal: "< 10",
            measured: round2(tg.paced?.p99),
            met: below(tg.paced?.p99, 10),
          },
        ]
      : []),
  ];
}
