import type { Logger } from "pino";
import type { Clock } from "../core/clock.js";
import type { Storage } from "../core/ports/storage.js";
import type { SecretUseTracker } from "../core/secret-use.js";
import { KeyReloader } from "../keys/key-reloader.js";
import type { KeyRing } from "../keys/key-ring.js";
import { CLOCK_SKEW_MS } from "./keys.js";

/** How often a process checks whether another process changed the database (keys). */
export const CHANGE_POLL_MS = 500;
/** How often last-used times of secrets are written. */
export const SECRET_USE_FLUSH_MS = 30_000;
/** How often the key schedule is applied and the deny-list pruned. */
export const MAINTENANCE_MS = 60_000;

/** What the background work runs on. */
export interface BackgroundDeps {
  /** The database itself, for its change token. */
  database: Pick<Storage, "changeToken">;
  /** The storage requests use. */
  storage: Storage;
  keys: KeyRing;
  secretUse: SecretUseTracker;
  clock: Clock;
  log: Logger;
}

/** The periodic work of a serving process. */
export interface BackgroundWork {
  /** Applies the key schedule and prunes the deny-list now (the timer does it every minute). */
  maintain(): Promise<void>;
  /** Writes the secret uses not yet written. */
  flushSecretUse(): Promise<void>;
  /** Stops the timers. */
  stop(): void;
}

/**
 * Starts the background work: picking up keys another process changed, writing secrets'
 * last-used times in batches, and the key schedule with deny-list pruning. Every process runs
 * the schedule; the storage transaction makes concurrent runs agree, and the others pick the
 * result up through the change poll. The timers never keep the process alive.
 */
export async function startBackgroundWork(deps: BackgroundDeps): Promise<BackgroundWork> {
  const { storage, keys, secretUse, clock, log } = deps;
  const reloader = await KeyReloader.start(deps.database, keys);
  const flush = () => secretUse.flush(storage).catch((err: unknown) => log.error({ err }, "recording secret use failed"));
  const maintain = async () => {
    const before = keys.current.kid;
    await keys.maintain();
    if (keys.current.kid !== before) log.info({ kid: keys.current.kid, alg: keys.current.alg }, "signing key rotated");
    await storage.pruneRevokedTokens(clock() - CLOCK_SKEW_MS);
  };
  const timers = [
    every(CHANGE_POLL_MS, () => reloader.check(), (err) => log.error({ err }, "reloading signing keys failed")),
    every(SECRET_USE_FLUSH_MS, flush, () => undefined),
    every(MAINTENANCE_MS, maintain, (err) => log.error({ err }, "key maintenance failed")),
  ];
  return {
    maintain,
    flushSecretUse: flush,
    stop() {
      for (const t of timers) clearInterval(t);
    },
  };
}

/** Runs `task` every `ms` in the background (unref'd), reporting its failures. */
function every(ms: number, task: () => Promise<unknown>, onError: (err: unknown) => void): NodeJS.Timeout {
  return setInterval(() => {
    task().catch(onError);
  }, ms).unref();
}
