import { parseArgs } from "node:util";
import { pino } from "pino";
import { loadConfig } from "../config.js";
import { start } from "../main.js";

/** `tessera serve`: runs the server until SIGINT or SIGTERM. */
export async function serveCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: "string" },
      host: { type: "string" },
      db: { type: "string" },
      issuer: { type: "string" },
      alg: { type: "string" },
      "log-level": { type: "string" },
      "max-body-bytes": { type: "string" },
      "key-rotation-period": { type: "string" },
      "jwks-max-age": { type: "string" },
    },
    strict: true,
  });
  const config = loadConfig(
    {
      port: values.port,
      host: values.host,
      db: values.db,
      issuer: values.issuer,
      alg: values.alg,
      logLevel: values["log-level"],
      maxBodyBytes: values["max-body-bytes"],
      keyRotationPeriod: values["key-rotation-period"],
      jwksMaxAge: values["jwks-max-age"],
    },
    process.env,
  );
  const log = pino({ level: config.logLevel, base: { service: "tessera" } });
  const running = await start(config, log);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    running.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}
