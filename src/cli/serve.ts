import cluster from "node:cluster";
import { parseArgs } from "node:util";
import { pino, type Logger } from "pino";
import { loadConfig, SETTINGS, type Config, type RawSettings } from "../config.js";
import { start } from "../main.js";

/** `tessera serve`: runs the server until SIGINT or SIGTERM, then shuts down gracefully. */
export async function serveCommand(args: string[]): Promise<void> {
  const options = Object.fromEntries(Object.values(SETTINGS).map((s) => [s.flag, { type: "string" as const }]));
  const { values } = parseArgs({ args, options, strict: true });
  const flags: RawSettings = {};
  for (const [key, s] of Object.entries(SETTINGS)) {
    const v = values[s.flag];
    if (typeof v === "string") flags[key as keyof RawSettings] = v;
  }
  const config = loadConfig(flags, process.env);
  // Asynchronous writes keep logging off the request path; flushed on exit.
  const log = pino({ level: config.logLevel, base: { service: "tessera", pid: process.pid } }, pino.destination({ sync: false }));
  if (config.workers > 1 && cluster.isPrimary) return supervise(config, log);
  await serveOne(config, log);
}

/** One serving process (the only one, or a cluster worker). */
async function serveOne(config: Config, log: Logger): Promise<void> {
  const running = await start(config, log);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    running.stop().then(
      () => {
        log.flush();
        setImmediate(() => process.exit(0));
      },
      (err: unknown) => {
        log.error({ err }, "shutdown failed");
        log.flush();
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

/**
 * `--workers N`: N processes share the port (node:cluster hands out connections) and the
 * database file (SQLite WAL; see "Several processes" in the README). The primary only
 * supervises: it restarts a worker that dies, and forwards SIGTERM/SIGINT for a graceful stop.
 */
function supervise(config: Config, log: Logger): void {
  let stopping = false;
  const fork = () => cluster.fork();
  for (let i = 0; i < config.workers; i++) fork();
  cluster.on("exit", (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        log.info("all workers stopped");
        log.flush();
        setImmediate(() => process.exit(0));
      }
      return;
    }
    log.error({ pid: worker.process.pid, code, signal }, "worker died; starting another");
    fork();
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, workers: config.workers }, "shutting down workers");
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}
