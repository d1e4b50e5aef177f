import { type Logger, pino } from "pino";
import type { Config } from "../config.js";

/**
 * The server's logger: JSON lines for machines, or, when a person reads a terminal (or
 * --log-format pretty), one readable line per event through pino-pretty.
 */
export async function serveLogger(config: Config, stdout: NodeJS.WriteStream = process.stdout): Promise<Logger> {
  const options = { level: config.logLevel, base: { service: "tessera", pid: process.pid } };
  const pretty = config.logFormat === "pretty" || (config.logFormat === "auto" && stdout.isTTY === true);
  // Asynchronous writes keep logging off the request path; flushed on exit.
  if (!pretty) return pino(options, pino.destination({ sync: false }));
  // Loaded only here: machines reading JSON never pay for it.
  const { default: prettyStream } = await import("pino-pretty");
  const stream = prettyStream({
    colorize: stdout.isTTY === true,
    singleLine: true,
    translateTime: "SYS:HH:MM:ss.l",
    ignore: "service,pid,hostname",
    sync: true,
  });
  return pino(options, stream);
}
