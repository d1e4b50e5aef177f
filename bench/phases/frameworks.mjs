// Where gRPC time goes: the same IssueToken behind Tessera, a bare connect-node server and a
// grpc-js server with Tessera's core, both frameworks answering a constant reply, and
// node:http2 with no framework (the scripts in bench/peers/).
import { memOf, stop } from "../lib/procs.mjs";
import { checkAndWarm, finish, rounds } from "../lib/rounds.mjs";
import { grpcSubject } from "../lib/subjects.mjs";
import { startPeer, startTessera } from "../lib/targets.mjs";

/** @import { Bench } from "./setup.mjs" */
/** @import { Subject } from "../lib/subjects.mjs" */
/** @import { Server } from "../lib/targets.mjs" */

/** Each peer: its id, its title in the report, its script, and what it adds to the environment. */
const PEERS = [
  { id: "connect-core", title: "bare connect-node + Tessera core (no sniffing, no interceptors)", script: "connect-issue.mjs", env: {} },
  { id: "grpcjs-core", title: "grpc-js server + Tessera core (bench/peers/grpcjs-issue.mjs)", script: "grpcjs-issue.mjs", env: {} },
  {
    id: "connect-trivial",
    title: "bare connect-node, constant reply (framework floor)",
    script: "connect-issue.mjs",
    env: { BENCH_TRIVIAL: "1" },
  },
  { id: "grpcjs-trivial", title: "grpc-js, constant reply (framework floor)", script: "grpcjs-issue.mjs", env: { BENCH_TRIVIAL: "1" } },
  {
    id: "h2-fastpath",
    title: "node:http2 stream API + protobuf-es + Tessera core (a fast-path sketch)",
    script: "h2-fastpath.mjs",
    env: {},
  },
  { id: "h2-floor", title: "node:http2 stream API, constant reply (no framework)", script: "h2-floor.mjs", env: {} },
];

/**
 * The frameworks phase.
 * @param {Bench} bench
 */
export async function frameworksPhase(bench) {
  const { settings: S, log, elapsed, fail, report: R, pin, runRoot, creds } = bench;
  log(`\n[${elapsed()}] frameworks: the same IssueToken behind Tessera, bare connect-node, grpc-js, and node:http2 alone`);
  const db = bench.copyDb("frameworks");
  const tg = await startTessera(runRoot, "tessera (grpc, frameworks)", db, { cpus: pin.server });
  /** @type {Server[]} */
  const servers = [tg];
  const files = { work: bench.work };
  /** @type {Subject[]} */
  const subjects = [grpcSubject(files, { id: "tessera-grpc", title: "Tessera gRPC IssueToken (reference)", srv: tg, cred: creds.bench })];
  for (const { id, title, script, env } of PEERS) {
    try {
      // The peers open the same database, so their tokens verify with Tessera's keys.
      const srv = await startPeer(runRoot, id, script, { cpus: pin.server, h2cOnly: true, env: bench.peerEnv({ BENCH_DB: db, ...env }) });
      servers.push(srv);
      subjects.push(grpcSubject(files, { id, title, srv, cred: creds.bench, jwks: tg.jwks }));
    } catch (err) {
      fail(title, err);
    }
  }
  await checkAndWarm(bench, subjects, 2);
  await rounds(bench, subjects, { count: S.rounds, seconds: S.frameworkSeconds, what: "frameworks" });
  for (const s of subjects) s.peakRssKb = memOf(s.proc.pid)?.hwmKb;
  for (const srv of servers) await stop(srv.proc);
  const frameworks = subjects.map((s) => finish(bench, s));
  R.frameworks = frameworks;
  R.frameworkRates = Object.fromEntries(frameworks.map((s) => [s.id, s.rps?.median]));
}
