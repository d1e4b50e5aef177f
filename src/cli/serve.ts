import cluster from "node:cluster";
import type { Logger } from "pino";
import { type RunningServer, startServer } from "../compose/start-server.js";
import { type Config, loadConfig, type RawSettings, settingSource } from "../config.js";
import { isPostgresUrl, parseDatabaseUrl } from "../storage/postgres/connection.js";
import { checkDatabasePath, createDatabaseDirs, type DatabasePlace, removeCreatedDatabase } from "../storage/sqlite/database-file.js";
import { checkCanListen, listenError } from "./listen-check.js";
import { serveLogger } from "./serve-logger.js";

/**
 * `tessera serve`: runs the server until SIGINT or SIGTERM, then shuts down gracefully.
 * Everything an operator can get wrong (settings, the database path, a taken port) is checked
 * before anything is created, so a failed start leaves no database behind.
 */
export async function serveCommand(flags: RawSettings, env: NodeJS.ProcessEnv): Promise<void> {
  const config = loadConfig(flags, env);
  const portSource = settingSource("port", flags, env);
  if (cluster.isWorker) return serveOne(config, await serveLogger(config), undefined, portSource);
  const place = checkDatabase(config.db, settingSource("db", flags, env));
  await checkCanListen(config.port, config.host, portSource);
  const log = await serveLogger(config);
  if (config.workers > 1) return supervise(config, log);
  await serveOne(config, log, place, portSource);
}

/**
 * A database setting that cannot work stops the start before anything is created: a SQLite
 * path is checked (and its folders noted for creation), a PostgreSQL URL parsed (its
 * certificates read), each failing with one sentence. Undefined for PostgreSQL: no file to create.
 */
function checkDatabase(db: string, where: string): DatabasePlace | undefined {
  if (!isPostgresUrl(db)) return checkDatabasePath(db, where);
  parseDatabaseUrl(db);
  return undefined;
}

/** One serving process (the only one, or a cluster worker). `place` is known to the process that checked it. */
async function serveOne(config: Config, log: Logger, place: DatabasePlace | undefined, portSource: string): Promise<void> {
  // Signals are handled from the start: whoever sees "tessera listening" (a person at the
  // terminal, an orchestrator) may stop the server at once, and must get the graceful stop.
  let running: RunningServer | undefined;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    if (running) finish(running);
  };
  const finish = (r: RunningServer) =>
    r.stop().then(
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
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));

  if (place) createDatabaseDirs(place);
  try {
    running = await startServer(config, log);
  } catch (err) {
    // Another process may have taken the port since the check: still leave nothing behind.
    if (place) removeCreatedDatabase(place);
    throw listenError(err, config.port, config.host, portSource);
  }
  if (stopping) void finish(running); // a signal came while starting
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
