// PostgreSQL rows: Tessera on PostgreSQL next to SQLite for one cached client (server CPU per
// token: the hot path must not touch the database); two replicas on one database serving at
// once; and (full run) load spread over 100,000 clients on PostgreSQL. Each database starts as
// a `tessera copy` of the template. Skipped, with the reason printed, where no PostgreSQL is
// available; --quick runs the first row briefly (CI).
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { benchPostgres } from "../lib/postgres.mjs";
import { memOf, stop, treeMem } from "../lib/procs.mjs";
import { checkAndWarm, finish, round, rounds } from "../lib/rounds.mjs";
import { messageOf } from "../lib/run-log.mjs";
import { seedClients } from "../lib/setup.mjs";
import { ratio } from "../lib/stats.mjs";
import { httpSubject } from "../lib/subjects.mjs";
import { startTessera } from "../lib/targets.mjs";
import { coverEveryClient } from "./scaling.mjs";

/** @import { Bench } from "./setup.mjs" */
/** @import { BenchPostgres } from "../lib/postgres.mjs" */
/** @import { HttpSubject } from "../lib/subjects.mjs" */
/** @import { Server } from "../lib/targets.mjs" */

/**
 * `tessera copy --from SRC --to URL` with the snapshot's own bin/tessera.
 * @param {Bench} bench
 * @param {string} from
 * @param {string} to
 */
async function copyDatabase(bench, from, to) {
  const t0 = Date.now();
  await promisify(execFile)(process.execPath, [join(bench.runRoot, "bin/tessera"), "copy", "--from", from, "--to", to], {
    timeout: 600_000,
  });
  return (Date.now() - t0) / 1000;
}

/**
 * A subject on `srv` asking as the benchmark client (or each of `rotate` in turn).
 * @param {Bench} bench
 * @param {string} id
 * @param {string} title
 * @param {Server & { jwks: import("jose").JSONWebKeySet }} srv
 * @param {readonly import("../lib/setup.mjs").Credentials[]} [rotate]
 * @returns {HttpSubject}
 */
function subject(bench, id, title, srv, rotate) {
  return httpSubject(
    { work: bench.work, body: bench.settings.httpBody },
    { id, title, srv, path: "/oauth/token", cred: bench.creds.bench, ...(rotate ? { rotate } : {}) },
  );
}

/**
 * SQLite and PostgreSQL side by side, one cached client, interleaved rounds on the server core.
 * @param {Bench} bench
 * @param {string} url
 */
async function compareRow(bench, url) {
  const { settings: S, pin, runRoot } = bench;
  const sqlite = await startTessera(runRoot, "tessera (SQLite)", bench.copyDb("pg-compare"), { cpus: pin.server });
  const postgres = await startTessera(runRoot, "tessera (PostgreSQL)", url, { cpus: pin.server, logDir: bench.work });
  const subjects = [subject(bench, "sqlite", "SQLite, 1 client", sqlite), subject(bench, "postgres", "PostgreSQL, 1 client", postgres)];
  try {
    await checkAndWarm(bench, subjects, S.warmupSeconds);
    await rounds(bench, subjects, { count: S.rounds, seconds: S.seconds, what: "postgres" });
    for (const s of subjects) s.peakRssKb = memOf(s.proc.pid)?.hwmKb;
  } finally {
    await stop(sqlite.proc);
    await stop(postgres.proc);
  }
  return subjects.map((s) => finish(bench, s));
}

/**
 * Two replicas on one database, each on a core of its own where there are two, loaded at the
 * same time by one load generator each (unpinned: on two cores it cannot have a third).
 * @param {Bench} bench
 * @param {string} url
 */
async function replicasRow(bench, url) {
  const { settings: S, pin, runRoot, log, elapsed } = bench;
  const cores = pin.pinned ? ["0", "1"] : [undefined, undefined];
  /** @type {Server[]} */
  const servers = [];
  try {
    for (const [i, cpus] of cores.entries())
      servers.push(await startTessera(runRoot, `tessera replica ${i + 1}`, url, { cpus, logDir: bench.work }));
    const subjects = servers.map((srv, i) => {
      const s = subject(
        bench,
        `replica-${i + 1}`,
        `replica ${i + 1} of 2${cores[i] === undefined ? "" : `, CPU ${cores[i]}`}`,
        /** @type {Server & { jwks: import("jose").JSONWebKeySet }} */ (srv),
      );
      s.unpinned = true; // measured as its own process tree; its load generator may use any core
      return s;
    });
    await checkAndWarm(bench, subjects, S.warmupSeconds);
    for (let i = 0; i < S.rounds; i++) {
      // Both at once: that is the row's point.
      const results = await Promise.all(
        subjects.map((s) => round(bench, s, { seconds: S.seconds, label: `${s.id} together ${i + 1}/${S.rounds}` })),
      );
      results.forEach((r, j) => {
        subjects[j]?.rounds.push(r);
      });
      log(
        `  [${elapsed()}] postgres two replicas round ${i + 1}/${S.rounds}: ${results.map((r) => `${Math.round(r.rps)} tokens/s, ${r.cpuUsPerToken} µs CPU/token`).join(" + ")}`,
      );
    }
    for (const s of subjects) s.peakRssKb = s.proc.pid === undefined ? undefined : treeMem(s.proc.pid).hwmKb;
    return subjects.map((s) => finish(bench, s));
  } finally {
    for (const srv of servers) await stop(srv.proc);
  }
}

/**
 * Load spread over S.clients clients on PostgreSQL (seeded in SQLite, then copied).
 * @param {Bench} bench
 * @param {BenchPostgres} pg
 */
async function spreadRow(bench, pg) {
  const { settings: S, pin, runRoot, log, work } = bench;
  const file = join(work, "pg-clients.db");
  const seeded = await seedClients(bench.template, file, S.clients, { log });
  const url = await pg.create();
  const copySeconds = await copyDatabase(bench, file, url);
  log(`  ${S.clients} clients seeded in ${seeded.seconds.toFixed(0)} s, copied to PostgreSQL in ${copySeconds.toFixed(0)} s`);
  const srv = await startTessera(runRoot, `tessera (PostgreSQL, ${S.clients} clients)`, url, { cpus: pin.server, logDir: work });
  const s = subject(bench, "postgres-spread", `PostgreSQL, ${S.clients} clients, load spread over all`, srv, seeded.creds);
  s.setup = `seeded in ${seeded.seconds.toFixed(0)} s, tessera copy to PostgreSQL in ${copySeconds.toFixed(0)} s`;
  try {
    await checkAndWarm(bench, [s], 3, () => coverEveryClient(bench, s, seeded.creds.length));
    await rounds(bench, [s], { count: S.scalingRounds, seconds: S.scalingSeconds, what: "postgres spread" });
    s.peakRssKb = memOf(s.proc.pid)?.hwmKb;
  } finally {
    await stop(srv.proc);
  }
  return { ...finish(bench, s), setup: s.setup };
}

/**
 * The PostgreSQL phase.
 * @param {Bench} bench
 */
export async function postgresPhase(bench) {
  const { log, elapsed, report: R, quick, fail } = bench;
  log(
    `\n[${elapsed()}] postgres: SQLite vs PostgreSQL for a cached client; two replicas on one database${quick ? "" : "; load spread over many clients"}`,
  );
  const pg = await benchPostgres();
  if ("na" in pg) {
    R.postgres = { na: `skipped: ${pg.na}` };
    log(`  SKIPPED the PostgreSQL rows: ${pg.na}`);
    return;
  }
  try {
    const url = await pg.create();
    const copySeconds = await copyDatabase(bench, bench.template, url);
    log(`  on ${pg.how}; template copied with tessera copy in ${copySeconds.toFixed(1)} s`);
    const compare = await compareRow(bench, url);
    const cpu = ratio(compare[1]?.cpuUsPerToken?.median, compare[0]?.cpuUsPerToken?.median);
    R.ratios?.push({
      what: "PostgreSQL / SQLite: server CPU per token, 1 cached client",
      goal: "≤ 1.10",
      measured: cpu,
      met: cpu !== undefined && cpu <= 1.1,
    });
    /** @type {NonNullable<import("../lib/markdown-report.mjs").BenchReport["postgres"]>} */
    const section = { how: pg.how, compare, replicas: [], spread: undefined };
    R.postgres = section;
    try {
      section.replicas = await replicasRow(bench, url);
    } catch (err) {
      fail("two replicas on PostgreSQL", err);
      section.replicasFailure = messageOf(err);
    }
    if (!quick) {
      try {
        section.spread = await spreadRow(bench, pg);
      } catch (err) {
        fail("spread load on PostgreSQL", err);
        section.spreadFailure = messageOf(err);
      }
    }
  } finally {
    await pg.dropAll();
  }
}
