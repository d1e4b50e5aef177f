// The Markdown report printed to stdout (and saved next to the JSON).
import { summaryMarkdown } from "./cpuprofile.mjs";

const f0 = (x) => (typeof x === "number" ? Math.round(x).toLocaleString("en-US") : "n/a");
const f2 = (x) => (typeof x === "number" ? (x < 10 ? x.toFixed(2) : x.toFixed(1)) : "n/a");
const mb = (kb) => (typeof kb === "number" ? `${Math.round(kb / 1024)}` : "n/a");
const bytes = (b) => (typeof b === "number" ? (b >= 1 << 20 ? `${(b / 2 ** 20).toFixed(1)} MiB` : `${(b / 1024).toFixed(0)} KiB`) : "n/a");
const range = (s) => (s ? `${f0(s.median)} (${f0(s.min)}–${f0(s.max)})` : "n/a");
const lat = (p50, p99) => `${f2(p50)} / ${f2(p99)}`;

/** How the server's core was shared over the rounds used: server / others / steal, %. */
const coreText = (s) =>
  s.serverCorePct ? `${Math.round(s.serverCorePct.median)} / ${Math.round(s.othersOnServerCorePct?.median ?? 0)} / ${Math.round(s.stealOnServerCorePct?.median ?? 0)}` : "n/a";
const roundsText = (s) => `ok (${s.roundCount} rounds${s.noisyRoundsLeftOut ? `; ${s.noisyRoundsLeftOut} noisy left out` : ""})`;

/** One row per subject: tokens/s median (min–max), latency at 50 and 1, peak RSS. */
export function subjectTable(subjects, { c1 = true } = {}) {
  const head = ["target", "load generator", "tokens/s median (min–max)", "server CPU µs/token", "p50 / p99 ms @50"];
  if (c1) head.push("p50 / p99 ms @1");
  const paced = subjects.find((s) => s.paced)?.paced;
  if (paced) head.push(`p50 / p99 ms @50, paced ${f0(paced.rate)}/s`);
  head.push("server core: server / others / steal %", "peak RSS MB", "status");
  const lines = [`| ${head.join(" | ")} |`, `|${head.map((h) => (/tokens|ms|MB|%|µs/.test(h) ? "---:" : "---")).join("|")}|`];
  for (const s of subjects) {
    const cells = [s.title, s.generator ?? "", range(s.rps), s.cpuUsPerToken ? f0(s.cpuUsPerToken.median) : "n/a", lat(s.p50?.median, s.p99?.median)];
    if (c1) cells.push(s.c1 ? lat(s.c1.p50, s.c1.p99) : "n/a");
    if (paced) cells.push(s.paced ? lat(s.paced.p50, s.paced.p99) : "n/a");
    cells.push(coreText(s), mb(s.peakRssKb), s.failure ? `**FAILED**: ${s.failure.split("\n")[0].slice(0, 160)}` : roundsText(s));
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

/** The whole report. */
export function markdownReport(R) {
  const out = [];
  const m = R.machine;
  out.push(`## Tessera benchmark (${R.mode}) — ${R.startedAt}`, "");
  out.push(`- Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGb} GiB, ${m.kernel}; Node ${m.node}`);
  const src = R.source ?? {};
  out.push(
    `- Code: commit ${src.commit ?? "?"}${src.uncommittedFiles ? ` + ${src.uncommittedFiles} uncommitted file(s) in src/ gen/ proto/` : ""}, dist/ built ${src.distBuiltAt ?? "?"}` +
      (src.distStale ? " (**older than src/: run `npm run bench`, which builds first**)" : "") +
      "; servers run from a copy of dist/ taken at the start",
  );
  out.push(`- Pinning: ${R.pinning.text}`);
  const cal = R.calibration ?? {};
  out.push(
    `- Yardstick (node:crypto ES256 signs/s, 1 s on the server core): ${f0(cal.start?.es256SignsPerSecond)} at the start, ${f0(cal.end?.es256SignsPerSecond)} at the end ` +
      `(per CPU second: ${f0(cal.start?.es256SignsPerCpuSecond)} / ${f0(cal.end?.es256SignsPerCpuSecond)}; about 34.6k on this 2-core VM when quiet). Lower means a busy or slower machine: compare within a run.`,
  );
  out.push(`- Tools: wrk ${m.tools.wrk ?? "missing"}, h2load ${m.tools.h2load ?? "missing"}; ES256 everywhere; ${R.settings.connections} keep-alive connections`);
  out.push(
    `- Rounds: warm-up ${R.settings.warmupSeconds} s, then ${R.settings.rounds} × ${R.settings.seconds} s per target, interleaved (round 1 of every target, then round 2 ...); medians (min–max) over rounds`,
  );
  out.push(`- HTTP: wrk (1 thread) POST /oauth/token, client_secret_basic, body \`${R.settings.httpBody}\``);
  out.push(
    `- gRPC: h2load (1 thread, 1 stream per connection) posting a pre-encoded IssueToken frame (credentials in the message fields) over h2c; one reply decoded and its token verified first; each round counts its requests and checks every reply carried exactly the token-sized DATA (a gRPC error carries none)`,
  );
  out.push(
    "- `server CPU µs/token`: the server process's CPU time (all threads, from /proc) over the round divided by the tokens issued. Unlike tokens/s it hardly moves when other processes share the machine, so its ratios are the steadier comparison; 1,000,000 / µs is what one free core would do.",
  );
  out.push(
    "- `server core: server / others / steal %`: how CPU 0 was used during the rounds, by the server, by other processes (a shared VM: tests, compilers) and by the hypervisor (steal). " +
      "Server near 100 means the server was the bottleneck. A round where others + steal exceed 5% is marked noisy (steal inflates even CPU per token): it stays in the JSON, the medians use the quiet rounds when there are two or more, and one extra round is run to get them.",
  );
  out.push("");
  out.push("### Throughput and latency", "", subjectTable(R.main, { c1: R.mode === "full" }), "");
  if (R.ratios) {
    out.push("### Ratios and targets", "", "| what | goal | measured | met |", "|---|---|---:|---|");
    for (const t of R.ratios) out.push(`| ${t.what} | ${t.goal} | ${t.measured} | ${t.met === undefined ? "n/a" : t.met ? "yes" : "**no**"} |`);
    out.push("");
  }
  if (R.frameworks) {
    out.push(
      "### Where gRPC time goes: the same IssueToken behind other servers (same run, same load)",
      "",
      subjectTable(R.frameworks, { c1: false }),
      "",
    );
  }
  if (R.scaling) {
    out.push(`### Scaling (HTTP /oauth/token, 50 connections, ${R.settings.scalingRounds} × ${R.settings.scalingSeconds} s rounds; wrk picks the credentials per request, round-robin)`, "");
    out.push(
      "| row | tokens/s median (min–max) | vs baseline | server CPU µs/token | vs baseline | p50 / p99 ms | server core: server / others / steal % | server peak RSS MB | setup |",
      "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    );
    for (const r of R.scaling.rows) {
      const core = r.serverCorePct ? `${coreText(r)}${r.noisyRoundsLeftOut ? ` (${r.noisyRoundsLeftOut} noisy round(s) left out)` : ""}` : "";
      out.push(
        `| ${r.title} | ${r.na ?? range(r.rps)} | ${r.vsBaseline ?? ""} | ${r.na ? "" : f0(r.cpuUsPerToken?.median)} | ${r.cpuVsBaseline ?? ""} | ${r.na ? "" : lat(r.p50?.median, r.p99?.median)} | ${core} | ${r.na ? "" : mb(r.peakRssKb)} | ${r.setup ?? ""} |`,
      );
    }
    out.push("");
  }
  if (R.workers) {
    out.push("### `tessera serve --workers N`", "");
    if (R.workers.na) out.push(R.workers.na, "");
    else {
      out.push(
        `${R.workers.note}`,
        "",
        "| workers | tokens/s median (min–max) | CPU µs/token (all processes) | p50 / p99 ms | peak RSS MB (all processes) |",
        "|---|---:|---:|---:|---:|",
      );
      for (const r of R.workers.rows) {
        out.push(`| ${r.title} | ${r.na ?? range(r.rps)} | ${r.na ? "" : f0(r.cpuUsPerToken?.median)} | ${r.na ? "" : lat(r.p50?.median, r.p99?.median)} | ${mb(r.peakRssKb)} |`);
      }
      out.push("");
    }
  }
  if (R.million) {
    const x = R.million;
    out.push(`### ${f0(x.requested)} tokens through one server (HTTP, h2load --h1, 50 connections)`, "");
    if (x.failure) out.push(`**FAILED**: ${x.failure}`, "");
    else {
      out.push("| | before | after |", "|---|---:|---:|");
      out.push(`| tokens issued | ${f0(x.before.issued)} | ${f0(x.after.issued)} |`);
      out.push(`| server RSS MB (peak) | ${mb(x.before.rssKb)} (${mb(x.before.hwmKb)}) | ${mb(x.after.rssKb)} (${mb(x.after.hwmKb)}) |`);
      out.push(`| database file | ${bytes(x.before.files.db)} | ${bytes(x.after.files.db)} |`);
      out.push(`| -wal file | ${bytes(x.before.files.wal)} | ${bytes(x.after.files.wal)} |`);
      out.push("", `${f0(x.after.issued - x.before.issued)} tokens in ${f2(x.seconds)} s = ${f0(x.rps)} tokens/s; all answers 2xx.`, "");
    }
  }
  if (R.profiles) {
    out.push("### CPU profiles (node --cpu-prof, server pinned, 50 connections)", "");
    out.push(`Raw profiles (open in Chrome DevTools > Performance, or \`node bench/lib/cpuprofile.mjs FILE\`): ${R.profiles.dir}`, "");
    out.push(
      "Each profile covers the server's whole life (startup, one check, one 10 s round at 50 connections). The profiler itself makes a request cost about 1.5-2x its " +
        "unprofiled CPU, most where calls are many and small (connect-node): read the % columns, and the µs columns as profiled µs. Components are leaf-based (a native " +
        "call counts for the JS caller's component); key frames are inclusive of callees but miss work that async continuations run later.",
      "",
    );
    for (const p of R.profiles.items) {
      if (p.failure) out.push(`#### ${p.title}`, "", `**FAILED**: ${p.failure}`, "");
      else out.push(summaryMarkdown(`${p.title} (${p.file})`, p.summary, { top: 15 }));
    }
  }
  if (R.features) out.push("### Features detected", "", ...Object.entries(R.features).map(([k, v]) => `- ${k}: ${v}`), "");
  if (R.failures.length) out.push("### FAILURES", "", ...R.failures.map((f) => `- ${f}`), "");
  out.push(`Finished in ${f0(R.durationSeconds)} s. JSON: ${R.jsonFile}`);
  return out.join("\n") + "\n";
}
