// HTTP/1.1 load with wrk (keep-alive, one thread pinned to the load-generator core).
import { writeFileSync } from "node:fs";
import { run } from "./procs.mjs";

const lua = (/** @type {string} */ s) => JSON.stringify(s); // a JSON string literal is a valid Lua string literal here (ASCII only)

/**
 * Writes a wrk script that POSTs `body` to `path` with one of `authorizations` per request
 * (round-robin). With one authorization it still goes through request(), so a 1-client row and a
 * 100,000-client row cost wrk the same.
 * @param {string} file
 * @param {{ path: string, body: string, authorizations: readonly string[], contentType?: string }} request
 */
export function writeWrkScript(file, { path, body, authorizations, contentType = "application/x-www-form-urlencoded" }) {
  const lines = [
    `local body = ${lua(body)}`,
    `local path = ${lua(path)}`,
    `local auth = {`,
    ...authorizations.map((a) => `${lua(a)},`),
    `}`,
    `local n = #auth`,
    `local i = 0`,
    `request = function()`,
    `  i = i % n + 1`,
    `  return wrk.format("POST", path, { ["Content-Type"] = ${lua(contentType)}, ["Authorization"] = auth[i] }, body)`,
    `end`,
  ];
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

/** @type {Record<string, number>} */
const UNIT = { us: 0.001, ms: 1, s: 1000 };
/**
 * @param {string | undefined} v
 * @param {string | undefined} u
 */
const ms = (v, u) => Number(v) * (UNIT[u ?? ""] ?? NaN);

/**
 * Parses wrk --latency output.
 * @param {string} text
 * @public (test/bench/parsers.test.ts)
 */
export function parseWrk(text) {
  /** @param {RegExp} re */
  const num = (re) => {
    const m = re.exec(text);
    return m ? Number(m[1]) : undefined;
  };
  /** @type {Record<string, number>} p50, p75, p90, p99 in ms, those wrk printed */
  const pct = {};
  for (const m of text.matchAll(/^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$/gm)) pct[`p${m[1]}`] = ms(m[2], m[3]);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  return {
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    requests: num(/^\s+(\d+) requests in/m),
    seconds: num(/requests in ([\d.]+)s/),
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/) ?? 0,
    socketErrors: sock
      ? { connect: Number(sock[1]), read: Number(sock[2]), write: Number(sock[3]), timeout: Number(sock[4]) }
      : { connect: 0, read: 0, write: 0, timeout: 0 },
    latencyMs: pct,
  };
}

/**
 * One wrk round. Fails loudly (throws) on any non-2xx answer or socket error: a round with errors
 * measures the error path, not the token path. (read errors count connections the server closed.)
 * @param {{ url: string, script: string, connections: number, seconds: number, cpus: string | undefined, label: string }} o
 */
export async function wrkRound({ url, script, connections, seconds, cpus, label }) {
  const args = ["-t1", `-c${connections}`, `-d${seconds}s`, "--latency", "--timeout", "5s", "-s", script, url];
  const { code, stdout, stderr } = await run(`wrk ${label}`, "wrk", args, { cpus, timeoutMs: (seconds + 20) * 1000 });
  if (code !== 0) throw new Error(`wrk (${label}) exited ${code}: ${stderr}${stdout}`);
  const r = parseWrk(stdout);
  const { rps, requests } = r;
  if (rps === undefined || requests === undefined) throw new Error(`wrk (${label}): cannot parse output:\n${stdout}`);
  const se = r.socketErrors;
  if (r.non2xx > 0 || se.connect + se.read + se.write + se.timeout > 0) {
    throw new Error(`ROUND FAILED (${label}): ${r.non2xx} non-2xx answers, socket errors ${JSON.stringify(se)} of ${requests} requests`);
  }
  if (requests === 0) throw new Error(`ROUND FAILED (${label}): no request completed`);
  return { ...r, rps, requests };
}
