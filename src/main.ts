import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import { systemClock, type Clock } from "./core/clock.js";
import { SecretUseTracker } from "./core/secret-use.js";
import { MAX_TOKEN_TTL_SECONDS } from "./core/client-admin.js";
import type { KeyPolicy } from "./keys/key-lifecycle.js";
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
/** How often the key schedule is applied and the deny-list pruned. */
export const MAINTENANCE_MS = 60_000;
/** Clock skew allowed to verifiers: retired keys and deny-list entries outlive tokens by this. */
export const CLOCK_SKEW_MS = 5 * 60_000;

/** The key schedule the configuration asks for. */
export function keyPolicy(config: Config): KeyPolicy {
  return {
    alg: config.alg,
    rotationPeriodMs: config.keyRotationPeriodMs,
    // At least one JWKS cache lifetime; twice, so a verifier that fetched just before the
    // next key appeared still refreshes in time.
    prepublishMs: 2 * config.jwksMaxAgeMs,
    retiredPublishMs: MAX_TOKEN_TTL_SECONDS * 1000 + CLOCK_SKEW_MS,
  };
}

/** A running Tessera. */
export interface Running {
  address: AddressInfo;
  storage: Storage;
  /** Applies the key schedule and prunes the deny-list now (the timer does it every minute). */
  maintain(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The only place with side effects: opens storage, loads keys, listens, starts the
 * background timers. Returns once the port is open.
 */
export async function start(config: Config, log: Logger, clock: Clock = systemClock): Promise<Running> {
  const storage = SqliteStorage.open(config.db);
  let keys: KeyRing;
  try {
    keys = await KeyRing.open(storage, { policy: keyPolicy(config), clock, kek: config.kek });
  } catch (err) {
    await storage.close();
    throw err;
  }
  if (config.kek) log.info({ kek_id: config.kek.id }, "signing keys are encrypted at rest");
  else log.warn("signing keys are stored unencrypted in the database: set TESSERA_KEK or TESSERA_KEK_FILE to encrypt them");
  if (keys.current.alg !== config.alg) {
    log.warn(
      { current_alg: keys.current.alg, configured_alg: config.alg },
      "the configured algorithm applies from the next key rotation (tessera keys rotate), so verifiers fetch the new key first",
    );
  }
  const secretUse = new SecretUseTracker();
  const health = new HealthState();
  const server = build({
    storage,
    keys,
    clock,
    issuer: config.issuer,
    secretUse,
    health,
    log,
    maxBodyBytes: config.maxBodyBytes,
    jwksMaxAgeSeconds: Math.round(config.jwksMaxAgeMs / 1000),
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
  // Key schedule and deny-list pruning. Every process runs it; the storage transaction makes
  // concurrent runs agree, and the others pick the result up through the change poll.
  const maintenance = async () => {
    const before = keys.current.kid;
    await keys.maintain();
    if (keys.current.kid !== before) log.info({ kid: keys.current.kid, alg: keys.current.alg }, "signing key rotated");
    await storage.pruneRevokedTokens(clock() - CLOCK_SKEW_MS);
  };
  const maintain = setInterval(() => {
    maintenance().catch((err: unknown) => log.error({ err }, "key maintenance failed"));
  }, MAINTENANCE_MS);
  poll.unref();
  flush.unref();
  maintain.unref();

  for (const name of ["", "tessera.v1.TokenService", "tessera.v1.ClientAdmin"]) health.set(name, Serving.SERVING);
  log.info(
    { port: address.port, host: address.address, db: config.db, issuer: config.issuer, alg: keys.current.alg, kid: keys.current.kid },
    "tessera listening",
  );

  return {
    address,
    storage,
    maintain: maintenance,
    async stop() {
      for (const name of ["", "tessera.v1.TokenService", "tessera.v1.ClientAdmin"]) health.set(name, Serving.NOT_SERVING);
      clearInterval(poll);
      clearInterval(flush);
      clearInterval(maintain);
      await server.close();
      await secretUse.flush(storage).catch((err: unknown) => log.error({ err }, "recording secret use failed"));
      await storage.close();
    },
  };
}
