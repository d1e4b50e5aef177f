// Before any phase: the machine and how it is pinned, a yardstick of its speed, the report the
// phases fill in, and the template database every server starts from (`tessera bootstrap` and
// the benchmark client).

import { generateKeyPairSync } from "node:crypto";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { calibrate, describeMachine, pinningPlan } from "../lib/machine.mjs";
import { AUDIENCE, makeMainDb, SCOPES } from "../lib/setup.mjs";
import { describeSource } from "../lib/source.mjs";

/** @import { JWK } from "jose" */
/** @import { Machine, PinningPlan } from "../lib/machine.mjs" */
/** @import { Settings } from "../lib/options.mjs" */
/** @import { BenchReport } from "../lib/markdown-report.mjs" */
/** @import { RunLog } from "../lib/run-log.mjs" */
/** @import { Credentials } from "../lib/setup.mjs" */
/** @import { Workspace } from "../lib/workspace.mjs" */

/**
 * What every phase receives: settings, machine and pinning, folders, the log, the databases and
 * credentials, and the report each phase adds its section to.
 * @typedef {object} Bench
 * @property {boolean} quick
 * @property {Settings} settings
 * @property {Machine} machine
 * @property {PinningPlan} pin
 * @property {string} work scratch folder
 * @property {string} runRoot the snapshot every server runs from
 * @property {string} resultsDir
 * @property {string} stamp
 * @property {RunLog["log"]} log
 * @property {RunLog["elapsed"]} elapsed
 * @property {RunLog["fail"]} fail
 * @property {{ admin: Credentials, bench: Credentials }} creds
 * @property {string} template the bootstrapped database
 * @property {(name: string) => string} copyDb a fresh copy of the template, named `name`
 * @property {(extra?: NodeJS.ProcessEnv) => NodeJS.ProcessEnv} peerEnv the benchmark client for a peer script, and `extra`
 * @property {JWK} peerJwk the ES256 key node-oidc-provider and the ceiling sign with
 * @property {BenchReport} report
 */

/**
 * Says what machine this is and how it is pinned, and measures the yardstick. Exits 2 (after
 * cleaning up) when a full run lacks wrk or h2load.
 * @param {boolean} quick
 * @param {Workspace} ws
 * @param {RunLog["log"]} log
 */
async function describeRun(quick, ws, log) {
  const machine = describeMachine();
  const pin = pinningPlan(machine);
  log(`Tessera benchmark (${quick ? "quick: correctness only" : "full"})`);
  log(`machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGb} GiB, Node ${machine.node}`);
  log(`pinning: ${pin.text}`);
  log(`tools: wrk ${machine.tools.wrk ?? "MISSING"}, h2load ${machine.tools.h2load ?? "MISSING"}`);
  const calibration = { start: calibrate(pin.server) };
  log(
    `yardstick: ${calibration.start?.es256SignsPerSecond ?? "?"} ES256 signs/s on the server core (about 34.6k on this 2-core VM when quiet)`,
  );
  const haveTools = Boolean(machine.tools.wrk && machine.tools.h2load);
  if (!haveTools && !quick) {
    log("The full benchmark needs wrk and h2load: apt-get install -y wrk nghttp2-client");
    await ws.cleanup();
    process.exit(2);
  }
  if (!haveTools) log("wrk or h2load missing: --quick drives the targets with a small Node load generator instead (correctness only)");
  return { machine, pin, calibration };
}

/** The key node-oidc-provider and the ceiling sign with: ES256, as Tessera's. */
function newPeerJwk() {
  const k = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
  return { ...k, alg: "ES256", kid: "bench-peer-es256" };
}

/**
 * Everything before the first phase.
 * @param {string} root the repository
 * @param {{ quick: boolean, settings: Settings }} options
 * @param {Workspace} ws
 * @param {RunLog} out
 * @param {number} t0 when the run started
 * @returns {Promise<Bench>}
 */
export async function prepare(root, { quick, settings }, ws, out, t0) {
  const { log, elapsed } = out;
  const { machine, pin, calibration } = await describeRun(quick, ws, log);
  /** @type {BenchReport} */
  const report = {
    mode: quick ? "quick" : "full",
    source: describeSource(root),
    startedAt: new Date(t0).toISOString(),
    machine,
    pinning: pin,
    calibration,
    settings,
    features: {},
    failures: out.failures,
  };
  const peerJwk = newPeerJwk();
  const template = join(ws.work, "template.db");
  log(`\n[${elapsed()}] setup: tessera bootstrap + benchmark client (scopes ${SCOPES.join(" ")}, audience ${AUDIENCE}) in ${ws.work}`);
  const creds = await makeMainDb(ws.runRoot, template);
  /** @param {string} name */
  const copyDb = (name) => {
    const f = join(ws.work, `${name}.db`);
    copyFileSync(template, f);
    return f;
  };
  /** @param {NodeJS.ProcessEnv} [extra] */
  const peerEnv = (extra = {}) => ({ BENCH_CLIENT_ID: creds.bench.clientId, BENCH_CLIENT_SECRET: creds.bench.clientSecret, ...extra });
  const { stamp, resultsDir, work, runRoot } = ws;
  return {
    quick,
    settings,
    machine,
    pin,
    work,
    runRoot,
    resultsDir,
    stamp,
    log,
    elapsed,
    fail: out.fail,
    creds,
    template,
    copyDb,
    peerEnv,
    peerJwk,
    report,
  };
}
