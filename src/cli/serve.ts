import { parseArgs } from "node:util";
import { pino } from "pino";
import { loadConfig, SETTINGS, type RawSettings } from "../config.js";
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
  const log = pino({ level: config.logLevel, base: { service: "tessera" } }, pino.destination({ sync: false }));
  const running = await start(config, log);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    running.stop().then(
      () => {
        log.flush();
        process.exitCode = 0;
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
