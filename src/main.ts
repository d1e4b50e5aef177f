import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import { systemClock, type Clock } from "./core/clock.js";
import { SecretUseTracker } from "./core/secret-use.js";
import { KeyRing } from "./keys/key-ring.js";
import { build } from "./server.js";
import { SqliteStorage } from "./storage/sqlite/sqlite-storage.js";
import type { Storage } from "./storage/storage.js";
import { HealthState } from "./transport/grpc/health.js";
import { HealthCheckResponse_ServingStatus as Serving } from "../gen/grpc/health/v1/health_pb.js";

/** How often a process checks whether another process changed the database (keys). */
export const CHANGE_POLL_MS = 500;
/** How often last-used times of secrets are written. */
export const SECRET_USE_FLUSH_MS = 30_000;

/** A running Tessera. */
export interface Running {
  address: AddressInfo;
  storage: Storage;
  stop(): Promise<void>;
}

/**
 * The only place with side effects: opens storage, loads keys, listens, starts the
 * background timers. Returns once the port is open.
 */
export async function start(config: Config, log: Logger, clock: Clock = systemClock): Promise<Running> {
  const storage = SqliteStorage.open(config.db);
  const keys = await KeyRing.open(storage, config.alg, clock);
  const secretUse = new SecretUseTracker();
  const health = new HealthState();
  const server = build({
    storage,
    signer: keys,
    keys,
    clock,
    issuer: config.issuer,
    secretUse,
    health,
    log,
    maxBodyBytes: config.maxBodyBytes,
  });
  const address = await server.listen(config.port, config.host);

  let lastChange = await storage.changeToken();
  const poll = setInterval(() => {
    void (async () => {
      const token = await storage.changeToken();
      if (token !== lastChange) {
        lastChange = token;
        await keys.reload();
      }
    })().catch((err: unknown) => log.error({ err }, "reloading signing keys failed"));
  }, CHANGE_POLL_MS);
  const flush = setInterval(() => {
    secretUse.flush(storage).catch((err: unknown) => log.error({ err }, "recording secret use failed"));
  }, SECRET_USE_FLUSH_MS);
  poll.unref();
  flush.unref();

  for (const name of ["", "tessera.v1.TokenService", "tessera.v1.ClientAdmin"]) health.set(name, Serving.SERVING);
  log.info(
    { port: address.port, host: address.address, db: config.db, issuer: config.issuer, alg: keys.current.alg, kid: keys.current.kid },
    "tessera listening",
  );

  return {
    address,
    storage,
    async stop() {
      for (const name of ["", "tessera.v1.TokenService", "tessera.v1.ClientAdmin"]) health.set(name, Serving.NOT_SERVING);
      clearInterval(poll);
      clearInterval(flush);
      await server.close();
      await secretUse.flush(storage).catch((err: unknown) => log.error({ err }, "recording secret use failed"));
      await storage.close();
    },
  };
}
