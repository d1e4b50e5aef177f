// The command line of bench/run.mjs and the settings it gives each phase.
import { parseArgs } from "node:util";

/** The phases in the order they run; --quick runs "main", "secretless" and "postgres" (briefly), --skip leaves others out. */
export const PHASES = /** @type {const} */ (["main", "secretless", "frameworks", "scaling", "workers", "postgres", "profile", "million"]);

/** The phases --quick runs: secretless proves both kinds of client authentication answer right. */
const QUICK_PHASES = new Set(["main", "secretless", "postgres"]);

/** @typedef {typeof PHASES[number]} PhaseName */

/** What `--help` prints. */
export const USAGE = `usage: node bench/run.mjs [--quick] [--rounds 3] [--seconds 10] [--warmup 5]
       [--clients 100000] [--revoked 100000] [--tokens 1000000] [--skip ${PHASES.slice(1).join(",")}] [--keep]
`;

/** @typedef {ReturnType<typeof settingsFrom>} Settings */

/**
 * Durations, counts and the request body of every phase; --quick shortens what it runs.
 * @param {boolean} quick
 * @param {Partial<Record<"rounds" | "seconds" | "warmup" | "clients" | "revoked" | "tokens", string>>} o
 */
function settingsFrom(quick, o) {
  /**
   * @param {string | undefined} v
   * @param {number} d
   */
  const num = (v, d) => (v === undefined ? d : Number(v));
  return {
    connections: 50,
    rounds: num(o.rounds, quick ? 1 : 3),
    seconds: num(o.seconds, quick ? 1 : 10),
    warmupSeconds: num(o.warmup, quick ? 0 : 4),
    c1Seconds: quick ? 0 : 5,
    // Latency under an offered load below every target's capacity (h2load --rps), besides the
    // saturated rounds, where 50 closed-loop connections make the mean latency 50 / throughput.
    pacedRate: 2000,
    pacedSeconds: quick ? 0 : 8,
    frameworkSeconds: quick ? 0 : 3,
    scalingSeconds: quick ? 0 : 6,
    // A 10% difference needs more than three 6 s rounds to stand out of this VM's noise.
    scalingRounds: Math.max(num(o.rounds, 3), 5),
    profileSeconds: 10,
    clients: num(o.clients, 100_000),
    revoked: num(o.revoked, 100_000),
    tokens: num(o.tokens, 1_000_000),
    httpBody: "grant_type=client_credentials&scope=read+write",
    watchdogSeconds: quick ? 120 : 1800,
  };
}

/** Parses the command line; throws on an unknown option. */
export function parseOptions() {
  const { values: o } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      rounds: { type: "string" },
      seconds: { type: "string" },
      warmup: { type: "string" },
      clients: { type: "string" },
      revoked: { type: "string" },
      tokens: { type: "string" },
      skip: { type: "string", default: "" },
      keep: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  const skip = new Set(o.skip.split(",").filter(Boolean));
  return {
    help: o.help,
    quick: o.quick,
    keep: o.keep,
    settings: settingsFrom(o.quick, o),
    /** @param {PhaseName} phase */
    enabled: (phase) => (phase === "main" ? true : o.quick ? QUICK_PHASES.has(phase) : !skip.has(phase)),
  };
}
