// HTTP/2 (and HTTP/1.1 with --h1) load with h2load from nghttp2-client. Rounds are counted, not
// timed: with a fixed request count every request must complete, so the accounting is exact and
// a gRPC error (HTTP 200 with a trailers-only reply, no DATA) shows up as missing data bytes.
import { readFileSync } from "node:fs";
import { run } from "./procs.mjs";

/**
 * What h2load reports for a round.
 * @typedef {object} H2loadResult
 * @property {number} total
 * @property {number} done
 * @property {number} succeeded
 * @property {number} failed
 * @property {number} errored
 * @property {number} timeout
 * @property {{ "2xx": number, "3xx": number, "4xx": number, "5xx": number }} status
 * @property {number} seconds
 * @property {number} rps
 * @property {number | undefined} dataBytes
 */

/** @type {Record<string, number>} */
const SECONDS_PER = { s: 1, ms: 1e-3, us: 1e-6 };

/**
 * Parses h2load's summary.
 * @param {string} text
 * @returns {H2loadResult | undefined}
 * @public (test/bench/parsers.test.ts)
 */
export function parseH2load(text) {
  const req = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(text);
  const st = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(text);
  const fin = /finished in ([\d.]+)(ms|s|us), ([\d.]+) req\/s/.exec(text);
  const data = /\((\d+)\) data/.exec(text);
  if (!req || !st || !fin) return undefined;
  const secs = Number(fin[1]) * (SECONDS_PER[fin[2] ?? ""] ?? NaN);
  return {
    total: Number(req[1]),
    done: Number(req[3]),
    succeeded: Number(req[4]),
    failed: Number(req[5]),
    errored: Number(req[6]),
    timeout: Number(req[7]),
    status: { "2xx": Number(st[1]), "3xx": Number(st[2]), "4xx": Number(st[3]), "5xx": Number(st[4]) },
    seconds: secs,
    rps: Number(fin[3]),
    dataBytes: data ? Number(data[1]) : undefined,
  };
}

/**
 * p50/p99 (ms) from an h2load --log-file (start_us \t status \t duration_us per request).
 * @param {string} file
 */
export function latencyFromLog(file) {
  /** @type {number[]} */
  const durations = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const f = line.split("\t");
    if (f.length >= 3 && f[1] !== "0") durations.push(Number(f[2]));
  }
  durations.sort((a, b) => a - b);
  /** @param {number} q */
  const at = (q) => {
    const d = durations[Math.min(durations.length - 1, Math.floor(q * durations.length))];
    return d === undefined ? undefined : d / 1000;
  };
  return { p50: at(0.5), p75: at(0.75), p90: at(0.9), p99: at(0.99), count: durations.length };
}

/**
 * One counted h2load round of `requests` POSTs of `dataFile`. Throws (the round fails loudly) on
 * any failed, errored or timed-out request, any non-2xx status, or, when `replyDataBytes` is
 * given, any reply whose DATA is not exactly that size (a gRPC error has no DATA).
 * @param {object} o
 * @param {string} o.url
 * @param {string} o.dataFile the request body
 * @param {readonly string[]} [o.headers]
 * @param {number} o.connections
 * @param {number} o.requests
 * @param {string | undefined} o.cpus
 * @param {boolean} [o.h1] HTTP/1.1 instead of h2c
 * @param {number} [o.rpsPerConnection]
 * @param {string | undefined} [o.logFile] per-request log, for latency percentiles
 * @param {string} o.label
 * @param {number} [o.maxSeconds]
 */
export async function h2loadRound({
  url,
  dataFile,
  headers = [],
  connections,
  requests,
  cpus,
  h1 = false,
  rpsPerConnection,
  logFile,
  label,
  maxSeconds,
}) {
  const args = ["-t1", `-c${connections}`, "-m1", `-n${requests}`, "-d", dataFile, "-T", "10"];
  if (h1) args.push("--h1");
  // Paced: each connection sends at this rate (an offered load) instead of as fast as it can.
  if (rpsPerConnection !== undefined) args.push(`--rps=${rpsPerConnection}`);
  for (const h of headers) args.push("-H", h);
  if (logFile) args.push("--log-file", logFile);
  args.push(url);
  const { code, stdout, stderr } = await run(`h2load ${label}`, "h2load", args, { cpus, timeoutMs: (maxSeconds ?? 600) * 1000 });
  const r = parseH2load(stdout);
  if (!r) throw new Error(`h2load (${label}) exited ${code}, cannot parse output:\n${stdout.slice(-2000)}${stderr.slice(-2000)}`);
  return r;
}

/**
 * Throws unless every request of an h2load round succeeded with a 2xx (and the exact reply size).
 * @param {H2loadResult} r
 * @param {{ label: string, replyDataBytes?: number | undefined }} expected
 */
export function assertH2loadClean(r, { label, replyDataBytes }) {
  /** @type {string[]} */
  const bad = [];
  if (r.done !== r.total || r.succeeded !== r.total) bad.push(`${r.total - r.succeeded} of ${r.total} requests did not succeed`);
  if (r.failed || r.errored || r.timeout) bad.push(`${r.failed} failed, ${r.errored} errored, ${r.timeout} timed out`);
  if (r.status["2xx"] !== r.total) bad.push(`status codes ${JSON.stringify(r.status)}`);
  if (replyDataBytes !== undefined && r.dataBytes !== r.total * replyDataBytes) {
    bad.push(
      `reply DATA ${r.dataBytes} bytes, expected ${r.total} x ${replyDataBytes} = ${r.total * replyDataBytes} ` +
        `(about ${Math.round((r.total * replyDataBytes - (r.dataBytes ?? NaN)) / replyDataBytes)} replies carried no token: gRPC errors)`,
    );
  }
  if (bad.length) throw new Error(`ROUND FAILED (${label}): ${bad.join("; ")}`);
}
