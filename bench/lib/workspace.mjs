// Where a run keeps its files: the results folder, a scratch folder, and a snapshot of the code
// it measures. Everything is removed again on the way out, also on signals and the watchdog.
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { installCleanup, stopAll } from "./procs.mjs";

/**
 * @typedef {object} Workspace
 * @property {string} stamp the start time, for file names
 * @property {string} resultsDir bench/results
 * @property {string} work scratch folder: databases, server logs, load scripts
 * @property {string} runRoot the snapshot every server runs from
 * @property {() => Promise<void>} cleanup stops every child, removes the snapshot (and scratch unless kept)
 */

/**
 * Makes the folders and the snapshot, and installs the cleanup for signals.
 * @param {string} root the repository
 * @param {{ keep: boolean }} options `keep` leaves the scratch folder in place
 * @returns {Workspace}
 */
export function openWorkspace(root, { keep }) {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
  const resultsDir = join(root, "bench/results");
  mkdirSync(resultsDir, { recursive: true });
  const work = mkdtempSync(join(os.tmpdir(), "tessera-bench-"));
  // Others rebuild dist/ while a run goes on (npm test compiles): every server starts from a copy
  // taken now, inside the repository so that node_modules still resolve.
  const runRoot = join(resultsDir, `.snapshot-${stamp}`);
  for (const d of ["dist", "bin", "proto", "bench/peers"]) cpSync(join(root, d), join(runRoot, d), { recursive: true });
  const cleanup = async () => {
    await stopAll();
    rmSync(runRoot, { recursive: true, force: true });
    if (!keep) rmSync(work, { recursive: true, force: true });
  };
  installCleanup(cleanup);
  return { stamp, resultsDir, work, runRoot, cleanup };
}

/**
 * Stops everything and exits 1 when the run is still going after `seconds`; clear the result
 * to disarm it.
 * @param {number} seconds
 * @param {Workspace} ws
 * @param {(line: string) => void} log
 */
export function startWatchdog(seconds, ws, log) {
  return setTimeout(() => {
    log(`\nBENCH TIMEOUT: still running after ${seconds} s; stopping everything.`);
    void ws.cleanup().finally(() => process.exit(1));
  }, seconds * 1000);
}
