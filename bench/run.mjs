#!/usr/bin/env node
// Tessera's benchmark. `npm run bench` (full, ~14 min) or `npm run bench:quick` (~10 s,
// correctness only: exits non-zero when any target answers wrong, never judges speed).
// Starts every server itself from built JavaScript on 127.0.0.1, pins server and load generator
// to different cores, and stops everything it started. See bench/README.md.
//
// This file only composes: the setup, then each phase in bench/phases/ in turn (each adds its
// section to the report), then the report.
import { fileURLToPath } from "node:url";
import { PHASES, parseOptions, USAGE } from "./lib/options.mjs";
import { stopAll } from "./lib/procs.mjs";
import { createRunLog } from "./lib/run-log.mjs";
import { openWorkspace, startWatchdog } from "./lib/workspace.mjs";
import { frameworksPhase } from "./phases/frameworks.mjs";
import { mainPhase } from "./phases/main.mjs";
import { millionPhase } from "./phases/million.mjs";
import { postgresPhase } from "./phases/postgres.mjs";
import { profilePhase } from "./phases/profile.mjs";
import { quickVerdict, writeReport } from "./phases/report.mjs";
import { scalingPhase } from "./phases/scaling.mjs";
import { secretlessPhase } from "./phases/secretless.mjs";
import { prepare } from "./phases/setup.mjs";
import { workersPhase } from "./phases/workers.mjs";

/** @import { PhaseName } from "./lib/options.mjs" */
/** @import { Bench } from "./phases/setup.mjs" */

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** @type {Record<PhaseName, (bench: Bench) => Promise<void>>} */
const PHASE_RUNNERS = {
  main: mainPhase,
  secretless: secretlessPhase,
  frameworks: frameworksPhase,
  scaling: scalingPhase,
  workers: workersPhase,
  postgres: postgresPhase,
  profile: profilePhase,
  million: millionPhase,
};

const options = parseOptions();
if (options.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const t0 = Date.now();
const out = createRunLog(t0);
const ws = openWorkspace(ROOT, options);
const watchdog = startWatchdog(options.settings.watchdogSeconds, ws, out.log);
const bench = await prepare(ROOT, options, ws, out, t0);

for (const name of PHASES) {
  if (!options.enabled(name)) continue;
  try {
    await PHASE_RUNNERS[name](bench);
  } catch (err) {
    out.fail(`phase ${name}`, err);
  }
  await stopAll(); // nothing from one phase runs into the next
}

clearTimeout(watchdog);
writeReport(bench, t0);
await ws.cleanup();
if (bench.quick) process.stdout.write(`${quickVerdict(bench)}\n`);
process.exit(out.failures.length ? 1 : 0);
