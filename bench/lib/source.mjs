// Which code a run measures: the commit, uncommitted changes, and when dist/ was built.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/**
 * @typedef {object} SourceInfo
 * @property {string | undefined} commit
 * @property {number} uncommittedFiles in src/, gen/ and proto/
 * @property {string} distBuiltAt
 * @property {boolean} distStale src/ or gen/ changed after the last build
 */

/**
 * Reads git and the file times under `root`.
 * @param {string} root
 * @returns {SourceInfo}
 */
export function describeSource(root) {
  const git = (/** @type {string[]} */ ...args) => spawnSync("git", args, { cwd: root, encoding: "utf8", timeout: 10_000 }).stdout?.trim();
  const newest = (/** @type {string} */ dir) => {
    let t = 0;
    for (const f of readdirSync(join(root, dir), { recursive: true, encoding: "utf8" }))
      t = Math.max(t, statSync(join(root, dir, f)).mtimeMs);
    return t;
  };
  const distMs = newest("dist");
  const srcMs = Math.max(newest("src"), newest("gen"));
  const dirty = (git("status", "--porcelain", "--", "src", "gen", "proto") ?? "").split("\n").filter(Boolean).length;
  return {
    commit: git("rev-parse", "--short", "HEAD"),
    uncommittedFiles: dirty,
    distBuiltAt: new Date(distMs).toISOString(),
    distStale: srcMs > distMs,
  };
}
