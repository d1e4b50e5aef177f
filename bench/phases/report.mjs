// After the last phase: the yardstick again, then the results as JSON (also as latest-<mode>.json)
// and as Markdown, which is also printed to stdout.
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { calibrate } from "../lib/machine.mjs";
import { markdownReport } from "../lib/markdown-report.mjs";

/** @import { Bench } from "./setup.mjs" */

/**
 * Finishes the report and writes it out.
 * @param {Bench} bench
 * @param {number} t0 when the run started
 */
export function writeReport(bench, t0) {
  const { report: R, resultsDir } = bench;
  R.calibration.end = calibrate(bench.pin.server);
  R.finishedAt = new Date().toISOString();
  R.durationSeconds = (Date.now() - t0) / 1000;
  const base = join(resultsDir, `${bench.stamp}-${R.mode}`);
  const jsonFile = `${base}.json`;
  R.jsonFile = jsonFile;
  writeFileSync(jsonFile, `${JSON.stringify(R, null, 2)}\n`);
  copyFileSync(jsonFile, join(resultsDir, `latest-${R.mode}.json`));
  const md = markdownReport(R);
  writeFileSync(`${base}.md`, md);
  process.stdout.write(md);
}

/**
 * The last line of --quick, which CI reads: PASS when every target answered right and every
 * round was clean, else FAIL with the first problem.
 * @param {Bench} bench
 */
export function quickVerdict(bench) {
  const { report: R } = bench;
  const failures = R.failures;
  const checked = R.main?.filter((s) => !s.failure).length ?? 0;
  return failures[0] !== undefined
    ? `BENCH QUICK: FAIL (${failures.length} problem(s); first: ${failures[0].slice(0, 300)})`
    : `BENCH QUICK: PASS (${checked} targets answered 200 with tokens that verify, every round clean, wrong answers detected; ${postgresText(R.postgres)}; ${(R.durationSeconds ?? 0).toFixed(1)} s)`;
}

/**
 * What the PostgreSQL rows did, for the verdict line.
 * @param {Bench["report"]["postgres"]} p
 */
function postgresText(p) {
  if (!p) return "PostgreSQL rows not run";
  if ("na" in p) return `PostgreSQL rows ${p.na}`;
  return `PostgreSQL: ${p.compare.filter((s) => !s.failure).length + p.replicas.filter((s) => !s.failure).length} targets checked`;
}
