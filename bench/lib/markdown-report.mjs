// The Markdown report printed to stdout (and saved next to the JSON), and the shape of that
// JSON: what each phase adds to it.
import { summaryMarkdown } from "./cpuprofile.mjs";
import { firstLine } from "./run-log.mjs";

/** @import { ProfileSummary } from "./cpuprofile.mjs" */
/** @import { Goal } from "./goals.mjs" */
/** @import { Machine, PinningPlan } from "./machine.mjs" */
/** @import { Settings } from "./options.mjs" */
/** @import { SubjectSummary } from "./rounds.mjs" */
/** @import { SourceInfo } from "./source.mjs" */
/** @import { Spread } from "./stats.mjs" */

/**
 * One row of the scaling table: a subject's figures and their change against the first row
 * (`na` says why a failed one has none), or only a title and why the row could not be measured.
 * @typedef {SubjectSummary & { setup: string | undefined, vsBaseline?: string, cpuVsBaseline?: string, na?: string }} MeasuredScalingRow
 * @typedef {MeasuredScalingRow | { title: string, na: string }} ScalingRow
 */

/**
 * The PostgreSQL rows: SQLite and PostgreSQL side by side, two replicas at once, spread load.
 * @typedef {object} PostgresSection
 * @property {string} how which PostgreSQL server and access
 * @property {SubjectSummary[]} compare SQLite first, then PostgreSQL
 * @property {SubjectSummary[]} replicas
 * @property {string} [replicasFailure]
 * @property {SubjectSummary & { setup: string | undefined } | undefined} spread full runs only
 * @property {string} [spreadFailure]
 */

/**
 * Memory and database files at one moment of the 1,000,000-token phase.
 * @typedef {object} MillionPoint
 * @property {number} issued
 * @property {number} rssKb
 * @property {number} hwmKb
 * @property {{ db: number, wal: number, shm: number }} files
 */

/**
 * @typedef {{ requested: number, seconds: number, rps: number, before: MillionPoint, after: MillionPoint } | { requested: number, failure: string }} MillionResult
 * @typedef {{ id: string, title: string, file: string, summary: ProfileSummary } | { id: string, title: string, failure: string }} ProfileItem
 * @typedef {{ es256SignsPerSecond: number, es256SignsPerCpuSecond: number } | undefined} Calibration
 */

/**
 * Everything a run found, as written to the JSON file; each phase adds its section.
 * @typedef {object} BenchReport
 * @property {"quick" | "full"} mode
 * @property {SourceInfo} source
 * @property {string} startedAt
 * @property {Machine} machine
 * @property {PinningPlan} pinning
 * @property {{ start: Calibration, end?: Calibration }} calibration
 * @property {Settings} settings
 * @property {Record<string, string>} features
 * @property {string[]} failures
 * @property {boolean} [hasRevocation]
 * @property {boolean} [hasWorkers]
 * @property {SubjectSummary[]} [main]
 * @property {Record<string, number | undefined>} [mainRates]
 * @property {Goal[]} [ratios] only in a full run
 * @property {SubjectSummary[]} [frameworks]
 * @property {Record<string, number | undefined>} [frameworkRates]
 * @property {{ rows: ScalingRow[] }} [scaling]
 * @property {{ na: string } | { note: string, rows: SubjectSummary[] }} [workers]
 * @property {{ note: string, rows: SubjectSummary[] }} [secretless]
 * @property {PostgresSection | { na: string }} [postgres]
 * @property {MillionResult} [million]
 * @property {{ dir: string, items: ProfileItem[] }} [profiles]
 * @property {string} [finishedAt]
 * @property {number} [durationSeconds]
 * @property {string} [jsonFile]
 */

/** @param {number | undefined} x */
const f0 = (x) => (typeof x === "number" ? Math.round(x).toLocaleString("en-US") : "n/a");
/** @param {number | undefined} x */
const f2 = (x) => (typeof x === "number" ? (x < 10 ? x.toFixed(2) : x.toFixed(1)) : "n/a");
/** @param {number | undefined} kb */
const mb = (kb) => (typeof kb === "number" ? `${Math.round(kb / 1024)}` : "n/a");
/** @param {number | undefined} b */
const bytes = (b) => (typeof b === "number" ? (b >= 1 << 20 ? `${(b / 2 ** 20).toFixed(1)} MiB` : `${(b / 1024).toFixed(0)} KiB`) : "n/a");
/** @param {Spread | undefined} s */
const range = (s) => (s ? `${f0(s.median)} (${f0(s.min)}–${f0(s.max)})` : "n/a");
/**
 * @param {number | undefined} p50
 * @param {number | undefined} p99
 */
const lat = (p50, p99) => `${f2(p50)} / ${f2(p99)}`;

/**
 * How the server's core was shared over the rounds used: server / others / steal, %.
 * @param {SubjectSummary} s
 */
const coreText = (s) =>
  s.serverCorePct
    ? `${Math.round(s.serverCorePct.median)} / ${Math.round(s.othersOnServerCorePct?.median ?? 0)} / ${Math.round(s.stealOnServerCorePct?.median ?? 0)}`
    : "n/a";
/** @param {SubjectSummary} s */
const roundsText = (s) => `ok (${s.roundCount} rounds${s.noisyRoundsLeftOut ? `; ${s.noisyRoundsLeftOut} noisy left out` : ""})`;

/**
 * One row per subject: tokens/s median (min–max), latency at 50 and 1, peak RSS.
 * @param {readonly SubjectSummary[]} subjects
 * @param {{ c1?: boolean }} [options] whether to show latency at one connection
 */
function subjectTable(subjects, { c1 = true } = {}) {
  const head = ["target", "load generator", "tokens/s median (min–max)", "server CPU µs/token", "p50 / p99 ms @50"];
  if (c1) head.push("p50 / p99 ms @1");
  const paced = subjects.find((s) => s.paced)?.paced;
  if (paced) head.push(`p50 / p99 ms @50, paced ${f0(paced.rate)}/s`);
  head.push("server core: server / others / steal %", "peak RSS MB", "status");
  const lines = [`| ${head.join(" | ")} |`, `|${head.map((h) => (/tokens|ms|MB|%|µs/.test(h) ? "---:" : "---")).join("|")}|`];
  for (const s of subjects) {
    const cells = [
      s.title,
      s.generator ?? "",
      range(s.rps),
      s.cpuUsPerToken ? f0(s.cpuUsPerToken.median) : "n/a",
      lat(s.p50?.median, s.p99?.median),
    ];
    if (c1) cells.push(s.c1 ? lat(s.c1.p50, s.c1.p99) : "n/a");
    if (paced) cells.push(s.paced ? lat(s.paced.p50, s.paced.p99) : "n/a");
    cells.push(coreText(s), mb(s.peakRssKb), s.failure ? `**FAILED**: ${firstLine(s.failure).slice(0, 160)}` : roundsText(s));
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

/**
 * The heading and the method: machine, code, pinning, yardstick, tools, rounds, columns.
 * @param {BenchReport} R
 */
function header(R) {
  const m = R.machine;
  const src = R.source;
  const cal = R.calibration;
  const S = R.settings;
  return [
    `## Tessera benchmark (${R.mode}) — ${R.startedAt}`,
    "",
    `- Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGb} GiB, ${m.kernel}; Node ${m.node}`,
    `- Code: commit ${src.commit ?? "?"}${src.uncommittedFiles ? ` + ${src.uncommittedFiles} uncommitted file(s) in src/ gen/ proto/` : ""}, dist/ built ${src.distBuiltAt ?? "?"}` +
      (src.distStale ? " (**older than src/: run `npm run bench`, which builds first**)" : "") +
      "; servers run from a copy of dist/ taken at the start",
    `- Pinning: ${R.pinning.text}`,
    `- Yardstick (node:crypto ES256 signs/s, 1 s on the server core): ${f0(cal.start?.es256SignsPerSecond)} at the start, ${f0(cal.end?.es256SignsPerSecond)} at the end ` +
      `(per CPU second: ${f0(cal.start?.es256SignsPerCpuSecond)} / ${f0(cal.end?.es256SignsPerCpuSecond)}; about 34.6k on this 2-core VM when quiet). Lower means a busy or slower machine: compare within a run.`,
    `- Tools: wrk ${m.tools.wrk ?? "missing"}, h2load ${m.tools.h2load ?? "missing"}; ES256 everywhere; ${S.connections} keep-alive connections`,
    `- Rounds: warm-up ${S.warmupSeconds} s, then ${S.rounds} × ${S.seconds} s per target, interleaved (round 1 of every target, then round 2 ...); medians (min–max) over rounds`,
    `- HTTP: wrk (1 thread) POST /oauth/token, client_secret_basic, body \`${S.httpBody}\``,
    `- gRPC: h2load (1 thread, 1 stream per connection) posting a pre-encoded IssueToken frame (credentials in the message fields) over h2c; one reply decoded and its token verified first; each round counts its requests and checks every reply carried exactly the token-sized DATA (a gRPC error carries none)`,
    "- `server CPU µs/token`: the server process's CPU time (all threads, from /proc) over the round divided by the tokens issued. Unlike tokens/s it hardly moves when other processes share the machine, so its ratios are the steadier comparison; 1,000,000 / µs is what one free core would do.",
    "- `server core: server / others / steal %`: how CPU 0 was used during the rounds, by the server, by other processes (a shared VM: tests, compilers) and by the hypervisor (steal). " +
      "Server near 100 means the server was the bottleneck. A round where others + steal exceed 5% is marked noisy (steal inflates even CPU per token): it stays in the JSON, the medians use the quiet rounds when there are two or more, and one extra round is run to get them.",
    "",
  ];
}

/**
 * The goals table of a full run.
 * @param {readonly Goal[]} ratios
 */
function goalsSection(ratios) {
  const rows = ratios.map((t) => `| ${t.what} | ${t.goal} | ${t.measured} | ${t.met === undefined ? "n/a" : t.met ? "yes" : "**no**"} |`);
  return ["### Ratios and targets", "", "| what | goal | measured | met |", "|---|---|---:|---|", ...rows, ""];
}

/**
 * The scaling rows, each against the first.
 * @param {BenchReport["settings"]} S
 * @param {readonly ScalingRow[]} rows
 */
function scalingSection(S, rows) {
  const out = [
    `### Scaling (HTTP /oauth/token, 50 connections, ${S.scalingRounds} × ${S.scalingSeconds} s rounds; wrk picks the credentials per request, round-robin)`,
    "",
    "| row | tokens/s median (min–max) | vs baseline | server CPU µs/token | vs baseline | p50 / p99 ms | server core: server / others / steal % | server peak RSS MB | setup |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---|",
  ];
  for (const r of rows) {
    const m = "rounds" in r ? r : undefined;
    const core = m?.serverCorePct
      ? `${coreText(m)}${m.noisyRoundsLeftOut ? ` (${m.noisyRoundsLeftOut} noisy round(s) left out)` : ""}`
      : "";
    out.push(
      `| ${r.title} | ${r.na ?? range(m?.rps)} | ${m?.vsBaseline ?? ""} | ${r.na ? "" : f0(m?.cpuUsPerToken?.median)} | ${m?.cpuVsBaseline ?? ""} | ${r.na ? "" : lat(m?.p50?.median, m?.p99?.median)} | ${core} | ${r.na ? "" : mb(m?.peakRssKb)} | ${m?.setup ?? ""} |`,
    );
  }
  out.push("");
  return out;
}

/**
 * `--workers 1` against `--workers 2`, or why there is no such row.
 * @param {NonNullable<BenchReport["workers"]>} w
 */
function workersSection(w) {
  const out = ["### `tessera serve --workers N`", ""];
  if ("na" in w) return [...out, w.na, ""];
  out.push(
    w.note,
    "",
    "| workers | tokens/s median (min–max) | CPU µs/token (all processes) | p50 / p99 ms | peak RSS MB (all processes) |",
    "|---|---:|---:|---:|---:|",
  );
  for (const r of w.rows)
    out.push(
      `| ${r.title} | ${range(r.rps)} | ${f0(r.cpuUsPerToken?.median)} | ${lat(r.p50?.median, r.p99?.median)} | ${mb(r.peakRssKb)} |`,
    );
  out.push("");
  return out;
}

/**
 * A secret client against a private_key_jwt client on the same server.
 * @param {NonNullable<BenchReport["secretless"]>} x
 */
function secretlessSection(x) {
  const out = ["### Client authentication: secret against private_key_jwt (same server, same run)", "", x.note, ""];
  out.push("| client authentication | tokens/s median (min–max) | server CPU µs/token | p50 / p99 ms |", "|---|---:|---:|---:|");
  for (const r of x.rows)
    out.push(`| ${r.title} | ${range(r.rps)} | ${f0(r.cpuUsPerToken?.median)} | ${lat(r.p50?.median, r.p99?.median)} |`);
  out.push("");
  return out;
}

/**
 * The PostgreSQL rows, or why there are none.
 * @param {NonNullable<BenchReport["postgres"]>} p
 */
function postgresSection(p) {
  const out = ["### PostgreSQL (HTTP /oauth/token, 50 connections)", ""];
  if ("na" in p) return [...out, p.na, ""];
  out.push(
    `On ${p.how}; each database a \`tessera copy\` of the template.`,
    "",
    "SQLite and PostgreSQL, one cached client, interleaved rounds on the server core:",
    "",
    subjectTable(p.compare, { c1: false }),
    "",
  );
  out.push(
    "Two replicas on one database, loaded at the same time (each on a CPU of its own where there are two; the load generators are not pinned, so they share those CPUs; CPU per token counts each replica's process alone):",
    "",
  );
  if (p.replicasFailure) out.push(`**FAILED**: ${firstLine(p.replicasFailure).slice(0, 200)}`, "");
  else {
    out.push(subjectTable(p.replicas, { c1: false }), "");
    out.push(`Together: ${f0(p.replicas.reduce((n, r) => n + (r.rps?.median ?? 0), 0))} tokens/s.`, "");
  }
  if (p.spreadFailure) out.push(`Spread load: **FAILED**: ${firstLine(p.spreadFailure).slice(0, 200)}`, "");
  else if (p.spread) out.push(`Load spread over many clients (${p.spread.setup ?? ""}):`, "", subjectTable([p.spread], { c1: false }), "");
  return out;
}

/**
 * Memory and database size before and after a million tokens.
 * @param {MillionResult} x
 */
function millionSection(x) {
  const out = [`### ${f0(x.requested)} tokens through one server (HTTP, h2load --h1, 50 connections)`, ""];
  if ("failure" in x) return [...out, `**FAILED**: ${x.failure}`, ""];
  return [
    ...out,
    "| | before | after |",
    "|---|---:|---:|",
    `| tokens issued | ${f0(x.before.issued)} | ${f0(x.after.issued)} |`,
    `| server RSS MB (peak) | ${mb(x.before.rssKb)} (${mb(x.before.hwmKb)}) | ${mb(x.after.rssKb)} (${mb(x.after.hwmKb)}) |`,
    `| database file | ${bytes(x.before.files.db)} | ${bytes(x.after.files.db)} |`,
    `| -wal file | ${bytes(x.before.files.wal)} | ${bytes(x.after.files.wal)} |`,
    "",
    `${f0(x.after.issued - x.before.issued)} tokens in ${f2(x.seconds)} s = ${f0(x.rps)} tokens/s; all answers 2xx.`,
    "",
  ];
}

/**
 * Each CPU profile's summary, with how to read them.
 * @param {NonNullable<BenchReport["profiles"]>} p
 */
function profilesSection(p) {
  const out = [
    "### CPU profiles (node --cpu-prof, server pinned, 50 connections)",
    "",
    `Raw profiles (open in Chrome DevTools > Performance, or \`node bench/lib/cpuprofile.mjs FILE\`): ${p.dir}`,
    "",
    "Each profile covers the server's whole life (startup, one check, one 10 s round at 50 connections). The profiler itself makes a request cost about 1.5-2x its " +
      "unprofiled CPU, most where calls are many and small (connect-node): read the % columns, and the µs columns as profiled µs. Components are leaf-based (a native " +
      "call counts for the JS caller's component); key frames are inclusive of callees but miss work that async continuations run later.",
    "",
  ];
  for (const item of p.items) {
    if ("failure" in item) out.push(`#### ${item.title}`, "", `**FAILED**: ${item.failure}`, "");
    else out.push(summaryMarkdown(`${item.title} (${item.file})`, item.summary, { top: 15 }));
  }
  return out;
}

/**
 * The whole report.
 * @param {BenchReport} R
 */
export function markdownReport(R) {
  const out = header(R);
  out.push("### Throughput and latency", "", subjectTable(R.main ?? [], { c1: R.mode === "full" }), "");
  if (R.ratios) out.push(...goalsSection(R.ratios));
  if (R.secretless) out.push(...secretlessSection(R.secretless));
  if (R.frameworks) {
    out.push(
      "### Where gRPC time goes: the same IssueToken behind other servers (same run, same load)",
      "",
      subjectTable(R.frameworks, { c1: false }),
      "",
    );
  }
  if (R.scaling) out.push(...scalingSection(R.settings, R.scaling.rows));
  if (R.workers) out.push(...workersSection(R.workers));
  if (R.postgres) out.push(...postgresSection(R.postgres));
  if (R.million) out.push(...millionSection(R.million));
  if (R.profiles) out.push(...profilesSection(R.profiles));
  out.push("### Features detected", "", ...Object.entries(R.features).map(([k, v]) => `- ${k}: ${v}`), "");
  if (R.failures.length) out.push("### FAILURES", "", ...R.failures.map((f) => `- ${f}`), "");
  out.push(`Finished in ${f0(R.durationSeconds)} s. JSON: ${R.jsonFile}`);
  return `${out.join("\n")}\n`;
}
