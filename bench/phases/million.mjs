// A million tokens through one server: its memory (RSS and peak) and the size of its database
// and -wal file before and after, after a warm-up.

import { below } from "../lib/goals.mjs";
import { assertH2loadClean, h2loadRound } from "../lib/h2load.mjs";
import { memOf, sleep, stop } from "../lib/procs.mjs";
import { firstLine, messageOf } from "../lib/run-log.mjs";
import { dbFiles } from "../lib/setup.mjs";
import { checkSubject, h2loadRequest, httpSubject } from "../lib/subjects.mjs";
import { startTessera } from "../lib/targets.mjs";

/** @import { Bench } from "./setup.mjs" */
/** @import { MillionPoint } from "../lib/markdown-report.mjs" */
/** @import { HttpSubject } from "../lib/subjects.mjs" */

const WARM_UP = 20_000;

/**
 * One counted h2load run of `n` form requests; throws unless every one was a 2xx.
 * @param {Bench} bench
 * @param {HttpSubject} s
 * @param {number} n
 * @param {string} label
 * @param {number} maxSeconds
 */
async function counted(bench, s, n, label, maxSeconds) {
  const { replyDataBytes, ...request } = h2loadRequest(s, bench.work, bench.settings.httpBody);
  const r = await h2loadRound({
    ...request,
    connections: bench.settings.connections,
    requests: n,
    cpus: bench.pin.load,
    label,
    maxSeconds,
  });
  assertH2loadClean(r, { label, replyDataBytes });
  return r;
}

/**
 * The server's memory and database files now.
 * @param {number | undefined} pid
 * @param {string} db
 * @param {number} issued tokens so far
 * @returns {MillionPoint}
 */
function snapshot(pid, db, issued) {
  const mem = memOf(pid);
  if (!mem) throw new Error("the server's memory cannot be read from /proc");
  return { issued, ...mem, files: dbFiles(db) };
}

/**
 * The million phase.
 * @param {Bench} bench
 */
export async function millionPhase(bench) {
  const { settings: S, log, elapsed, report: R } = bench;
  log(`\n[${elapsed()}] ${S.tokens} tokens through one server: RSS and database size before/after`);
  const db = bench.copyDb("million");
  const srv = await startTessera(bench.runRoot, "tessera (million)", db, { cpus: bench.pin.server });
  try {
    const s = httpSubject(
      { work: bench.work, body: S.httpBody },
      { id: "million", title: "million", srv, path: "/oauth/token", cred: bench.creds.bench },
    );
    await checkSubject(s, S.httpBody, log);
    await counted(bench, s, WARM_UP, "million warm-up", 120);
    await sleep(500);
    const before = snapshot(srv.proc.pid, db, WARM_UP + 1);
    const t = Date.now();
    const r = await counted(bench, s, S.tokens, `${S.tokens} tokens`, 900);
    const seconds = (Date.now() - t) / 1000;
    await sleep(1000);
    const after = snapshot(srv.proc.pid, db, before.issued + r.succeeded);
    R.million = { requested: S.tokens, seconds: r.seconds ?? seconds, rps: r.rps, before, after };
    const grew = after.files.db + after.files.wal - (before.files.db + before.files.wal);
    R.ratios?.push(
      {
        what: `server RSS after ${S.tokens} tokens (MB)`,
        goal: "< 150",
        measured: Math.round(after.rssKb / 1024),
        met: below(after.rssKb / 1024, 150),
      },
      {
        what: `database growth over ${S.tokens} tokens (db + wal)`,
        goal: "none (< 1 MiB)",
        measured: `${Math.round(grew / 1024)} KiB`,
        met: grew < 2 ** 20,
      },
    );
    log(
      `  [${elapsed()}] ${r.succeeded} tokens at ${Math.round(r.rps)}/s; RSS ${Math.round(before.rssKb / 1024)} -> ${Math.round(after.rssKb / 1024)} MB; db+wal ${before.files.db + before.files.wal} -> ${after.files.db + after.files.wal} bytes`,
    );
  } catch (err) {
    bench.fail("million tokens", err);
    R.million = { requested: S.tokens, failure: firstLine(messageOf(err)) };
  } finally {
    await stop(srv.proc);
  }
}
