// Scaling rows: Tessera's form endpoint with 1 client registered against 100,000 (load from one
// of them, and spread round-robin over all), and with 100,000 live entries on the deny-list.
// Every row uses the same wrk script shape, so they cost wrk the same.
import { join } from "node:path";
import { below, pctText, signedPct } from "../lib/goals.mjs";
import { memOf, stop } from "../lib/procs.mjs";
import { checkAndWarm, finish, round, rounds } from "../lib/rounds.mjs";
import { firstLine, messageOf } from "../lib/run-log.mjs";
import { seedClients, seedRevocations } from "../lib/setup.mjs";
import { ratio } from "../lib/stats.mjs";
import { httpSubject } from "../lib/subjects.mjs";
import { startTessera } from "../lib/targets.mjs";

/** @import { Bench } from "./setup.mjs" */
/** @import { Goal } from "../lib/goals.mjs" */
/** @import { MeasuredScalingRow, ScalingRow } from "../lib/markdown-report.mjs" */
/** @import { Credentials } from "../lib/setup.mjs" */
/** @import { HttpSubject } from "../lib/subjects.mjs" */
/** @import { Server, TesseraServer } from "../lib/targets.mjs" */

/**
 * Before the spread row is timed, one wrk run long enough to ask for a token as every seeded
 * client once (the script starts at the first client on every run), so the rounds measure a
 * server that has seen its clients, not the one-off filling of its client cache. That first
 * pass is reported in the row's setup column.
 * @param {Bench} bench
 * @param {HttpSubject} s
 * @param {number} count
 */
export async function coverEveryClient(bench, s, count) {
  const probe = await round(bench, s, { seconds: 3, latency: false, label: `${s.id} probe` });
  // Cold requests are slower than the probe's (SQLite reads, a growing heap): twice the time.
  const seconds = Math.min(120, Math.ceil((2 * count) / Math.max(1, probe.rps)));
  const r = await round(bench, s, { seconds, latency: false, label: `${s.id} first pass over all clients` });
  const covered = r.requests >= count;
  s.setup += `; first pass over all ${count} (cold client cache, not in the medians): ${Math.round(r.rps)} tokens/s, ${r.cpuUsPerToken} µs CPU/token${covered ? "" : ` (covered only ${r.requests})`}`;
  bench.log(
    `  [${bench.elapsed()}] ${s.id}: first pass over all ${count} clients in ${seconds} s: ${Math.round(r.rps)} tokens/s, ${r.cpuUsPerToken} µs/token${covered ? "" : `; only ${r.requests} requests`}`,
  );
}

/**
 * A row's subject: load from `rotate` in turn, checked as its first client.
 * @param {Bench} bench
 * @param {{ id: string, title: string, srv: TesseraServer, rotate: readonly Credentials[], setup: string }} row
 */
function rowSubject(bench, { id, title, srv, rotate, setup }) {
  const cred = rotate[0];
  if (!cred) throw new Error(`${id}: no client to ask as`);
  const s = httpSubject({ work: bench.work, body: bench.settings.httpBody }, { id, title, srv, path: "/oauth/token", cred, rotate });
  s.setup = setup;
  return s;
}

/**
 * The deny-list row: a copy of the template with S.revoked live entries and a server on it, or
 * why there is none (no revocation in this build, or seeding failed).
 * @param {Bench} bench
 * @returns {Promise<{ srv: Server, subject: HttpSubject } | { na: string }>}
 */
async function revokedRow(bench) {
  const { settings: S, creds, work } = bench;
  if (!bench.report.hasRevocation) return { na: "n/a (feature not present: POST /oauth/revoke answers 404)" };
  try {
    const rv = await seedRevocations(bench.template, join(work, "revoked.db"), S.revoked, creds.bench.clientId);
    const srv = await startTessera(bench.runRoot, `tessera (${S.revoked} revoked)`, join(work, "revoked.db"), { cpus: bench.pin.server });
    const subject = rowSubject(bench, {
      id: "revoked",
      title: `1 client, ${S.revoked} revoked tokens on the deny-list`,
      srv,
      rotate: [creds.bench],
      setup: `storage.revokeToken x ${S.revoked} in ${rv.seconds.toFixed(0)} s`,
    });
    return { srv, subject };
  } catch (err) {
    bench.fail("revoked-tokens row", err);
    return { na: `FAILED: ${messageOf(err)}` };
  }
}

/**
 * Seeds the clients, starts the servers and makes the rows' subjects.
 * @param {Bench} bench
 */
async function prepareRows(bench) {
  const { settings: S, log, work, runRoot, pin, creds } = bench;
  log(`  seeding ${S.clients} clients through ClientAdminCore + SqliteStorage (dist/)...`);
  const seeded = await seedClients(bench.template, join(work, "clients.db"), S.clients, { log });
  log(`  seeded in ${seeded.seconds.toFixed(1)} s; database ${Math.round(seeded.bytes / 2 ** 20)} MiB`);
  const base = await startTessera(runRoot, "tessera (1 client)", bench.copyDb("scale-base"), { cpus: pin.server });
  const many = await startTessera(runRoot, `tessera (${S.clients} clients)`, join(work, "clients.db"), { cpus: pin.server });
  /** @type {Server[]} */
  const servers = [base, many];
  const subjects = [
    rowSubject(bench, {
      id: "base",
      title: "1 client registered (+ the admin client), 0 revoked",
      srv: base,
      rotate: [creds.bench],
      setup: "template database",
    }),
    rowSubject(bench, {
      id: "clients-hot",
      title: `${S.clients} clients registered, load from 1 client`,
      srv: many,
      rotate: [creds.bench],
      setup: `seeded in ${seeded.seconds.toFixed(0)} s`,
    }),
    rowSubject(bench, {
      id: "clients-spread",
      title: `${S.clients} clients registered, load spread over all ${S.clients}`,
      srv: many,
      rotate: seeded.creds,
      setup: "round-robin over every seeded client",
    }),
  ];
  const revoked = await revokedRow(bench);
  if ("na" in revoked) return { servers, subjects, seeded: seeded.creds.length, revokedNa: revoked.na };
  servers.push(revoked.srv);
  subjects.push(revoked.subject);
  return { servers, subjects, seeded: seeded.creds.length, revokedNa: undefined };
}

/**
 * The scaling phase.
 * @param {Bench} bench
 */
export async function scalingPhase(bench) {
  const { settings: S, log, elapsed, report: R } = bench;
  log(`\n[${elapsed()}] scaling: 1 vs ${S.clients} clients, 0 vs ${S.revoked} revoked tokens`);
  const { servers, subjects, seeded, revokedNa } = await prepareRows(bench);
  await checkAndWarm(bench, subjects, 3, async (s) => {
    if (s.id === "clients-spread") await coverEveryClient(bench, s, seeded);
  });
  await rounds(bench, subjects, { count: S.scalingRounds, seconds: S.scalingSeconds, what: "scaling" });
  // Hot and spread rows share one server: its peak RSS shows in both.
  for (const s of subjects) s.peakRssKb = memOf(s.proc.pid)?.hwmKb;
  for (const srv of servers) await stop(srv.proc);
  /** @type {MeasuredScalingRow[]} */
  const measured = subjects.map((s) => ({ ...finish(bench, s), setup: s.setup }));
  /** @type {ScalingRow[]} */
  const rows = [...againstBaseline(measured)];
  if (revokedNa) rows.push({ title: `1 client, ${S.revoked} revoked tokens on the deny-list`, na: revokedNa });
  R.scaling = { rows };
  R.ratios?.push(...scalingGoals(S, measured, revokedNa));
}

/**
 * Adds each row's change against the first (tokens/s and CPU per token); a failed row says why
 * it has no figures.
 * @param {MeasuredScalingRow[]} rows
 */
function againstBaseline(rows) {
  const b = rows[0]?.rps?.median;
  const bc = rows[0]?.cpuUsPerToken?.median;
  for (const r of rows.slice(1)) {
    r.vsBaseline = signedPct(ratio(r.rps?.median, b));
    r.cpuVsBaseline = signedPct(ratio(r.cpuUsPerToken?.median, bc));
    if (r.failure) r.na = `FAILED: ${firstLine(r.failure).slice(0, 120)}`;
  }
  return rows;
}

/**
 * Each row's throughput cost and extra CPU per token against the goal of under 10%.
 * @param {Bench["settings"]} S
 * @param {readonly MeasuredScalingRow[]} rows
 * @param {string | undefined} revokedNa why the deny-list row has no figures
 * @returns {Goal[]}
 */
function scalingGoals(S, rows, revokedNa) {
  const b = rows[0]?.rps?.median;
  const bc = rows[0]?.cpuUsPerToken?.median;
  /** @param {string} id */
  const cost = (id) => {
    const r = rows.find((x) => x.id === id);
    return r?.rps?.median && b ? 1 - r.rps.median / b : undefined;
  };
  /** @param {string} id */
  const cpuCost = (id) => {
    const r = rows.find((x) => x.id === id);
    return r?.cpuUsPerToken?.median && bc ? r.cpuUsPerToken.median / bc - 1 : undefined;
  };
  /** @type {[string, string, string | undefined][]} id, what, why it has no figures */
  const targets = [
    ["clients-hot", `${S.clients} clients (load from 1)`, undefined],
    ["clients-spread", `${S.clients} clients (load over all)`, undefined],
    ["revoked", `${S.revoked} revoked tokens`, revokedNa],
  ];
  /**
   * @param {string} what
   * @param {number | undefined} x
   * @param {string | undefined} na
   * @returns {Goal}
   */
  const goal = (what, x, na) => ({ what, goal: "< 10%", measured: na ?? pctText(x), met: na ? undefined : below(x, 0.1) });
  return [
    ...targets.map(([id, what, na]) => goal(`${what}: throughput cost`, cost(id), na)),
    ...targets.map(([id, what, na]) => goal(`${what}: extra server CPU per token`, cpuCost(id), na)),
  ];
}
