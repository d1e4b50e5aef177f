// `tessera serve --workers 1` against `--workers 2`, when the build has the option. Nothing is
// pinned here: the servers and the load generator share every core.
import { stop, treeMem } from "../lib/procs.mjs";
import { checkAndWarm, finish, rounds } from "../lib/rounds.mjs";
import { ratio } from "../lib/stats.mjs";
import { httpSubject } from "../lib/subjects.mjs";
import { startTessera } from "../lib/targets.mjs";

/** @import { Bench } from "./setup.mjs" */
/** @import { HttpSubject } from "../lib/subjects.mjs" */
/** @import { Server } from "../lib/targets.mjs" */

const NOTE =
  "Server and wrk both unpinned on this 2-core machine: the load generator competes with the second worker, so this understates what a second core gives a server on its own machine.";

/**
 * The workers phase.
 * @param {Bench} bench
 */
export async function workersPhase(bench) {
  const { settings: S, log, elapsed, fail, report: R } = bench;
  if (!R.hasWorkers) {
    R.workers = { na: "n/a (feature not present: `tessera serve --help` has no --workers)" };
    R.ratios?.push({
      what: "--workers 2 / --workers 1",
      goal: "> 1 (more cores used)",
      measured: "n/a (feature not present)",
      met: undefined,
    });
    return;
  }
  log(`\n[${elapsed()}] workers: tessera serve --workers 1 vs 2 (nothing pinned: server and wrk share both cores)`);
  const db = bench.copyDb("workers");
  /** @type {HttpSubject[]} */
  const subjects = [];
  /** @type {Server[]} */
  const servers = [];
  for (const n of [1, 2]) {
    try {
      const srv = await startTessera(bench.runRoot, `tessera --workers ${n}`, db, { cpus: bench.pin.all, args: ["--workers", String(n)] });
      servers.push(srv);
      const s = httpSubject(
        { work: bench.work, body: S.httpBody },
        { id: `workers-${n}`, title: `--workers ${n}`, srv, path: "/oauth/token", cred: bench.creds.bench },
      );
      s.unpinned = true;
      subjects.push(s);
    } catch (err) {
      fail(`--workers ${n}`, err);
    }
  }
  await checkAndWarm(bench, subjects, 3);
  // One server at a time would be fairer to each, but both idle servers cost nothing measurable.
  await rounds(bench, subjects, { count: S.rounds, seconds: S.seconds, what: "workers" });
  for (const s of subjects) s.peakRssKb = s.proc.pid === undefined ? undefined : treeMem(s.proc.pid).hwmKb;
  for (const srv of servers) await stop(srv.proc, { graceMs: 10_000 });
  const rows = subjects.map((s) => finish(bench, s));
  R.workers = { note: NOTE, rows };
  const gain = ratio(rows[1]?.rps?.median, rows[0]?.rps?.median);
  R.ratios?.push({ what: "--workers 2 / --workers 1", goal: "> 1 (more cores used)", measured: gain, met: gain !== undefined && gain > 1 });
}
