// What the benchmark says while it runs (stderr), and the failures it collects for the report.

/**
 * @typedef {object} RunLog
 * @property {(line: string) => void} log writes one line to stderr
 * @property {() => string} elapsed seconds since the start, e.g. "12s"
 * @property {(where: string, err: unknown) => void} fail records a failure and says it at once
 * @property {string[]} failures one line each, for the report
 */

/**
 * What a thrown value says.
 * @param {unknown} err
 */
export function messageOf(err) {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The first line of a message.
 * @param {string} text
 */
export const firstLine = (text) => text.split("\n")[0] ?? "";

/**
 * Milliseconds with two decimals for a log line, or "n/a".
 * @param {number | undefined} x
 */
export const msText = (x) => (typeof x === "number" ? x.toFixed(2) : "n/a");

/**
 * A log whose elapsed times count from `t0` (ms since the epoch).
 * @param {number} t0
 * @returns {RunLog}
 */
export function createRunLog(t0) {
  /** @type {string[]} */
  const failures = [];
  /** @param {string} s */
  const log = (s) => process.stderr.write(`${s}\n`);
  return {
    log,
    elapsed: () => `${((Date.now() - t0) / 1000).toFixed(0)}s`,
    fail: (where, err) => {
      const msg = `${where}: ${messageOf(err)}`;
      failures.push(msg.split("\n").slice(0, 6).join(" | "));
      log(`\n!!! ${msg}\n`);
    },
    failures,
  };
}
