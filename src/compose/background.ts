import type { Logger } from "pino";
import type { Clock } from "../core/clock.js";
import type { FederatedUseTracker } from "../core/federated-use.js";
import type { Storage } from "../core/ports/storage.js";
import type { SecretUseTracker } from "../core/secret-use.js";
import type { SharedLimits } from "../core/shared-limits.js";
import { KeyReloader } from "../keys/key-reloader.js";
import type { KeyRing } from "../keys/key-ring.js";
import { CHANGE_POLL_MS, type ChangeFeed } from "../storage/change-feed.js";
import { CLOCK_SKEW_MS } from "./keys.js";

/** How often last-used times of secrets are written. */
export const SECRET_USE_FLUSH_MS = 30_000;
/** How often the key schedule is applied and the deny-list pruned. */
const MAINTENANCE_MS = 60_000;
/** How often the limits shared by every replica are read back (what other replicas counted). */
export const SHARED_LIMITS_SYNC_MS = 500;

/** What the background work runs on. */
export interface BackgroundDeps {
  /** What tells of other processes' changes to the database. */
  changes: ChangeFeed;
  /** The storage requests use. */
  storage: Storage;
  keys: KeyRing;
  secretUse: SecretUseTracker;
  federatedUse: FederatedUseTracker;
  /** The limits every replica shares, when the database keeps them. */
  shared: SharedLimits | undefined;
  clock: Clock;
  log: Logger;
}

/** The periodic work of a serving process. */
export interface BackgroundWork {
  /** Applies the key schedule and prunes the deny-list now (the timer does it every minute). */
  maintain(): Promise<void>;
  /** Writes the secret uses (and the federated tokens' audit events) not yet written. */
  flushSecretUse(): Promise<void>;
  /** Stops the timers. */
  stop(): void;
}

/**
 * Starts the background work: picking up keys another process changed (as soon as the change
 * feed sees a change, and again until a reload succeeds), writing secrets' last-used times in
 * batches, and the key schedule with deny-list pruning. Every process runs the schedule; the
 * storage transaction makes concurrent runs agree, and the others pick the result up through
 * the change feed. The timers never keep the process alive.
 */
export function startBackgroundWork(deps: BackgroundDeps): BackgroundWork {
  const { storage, keys, secretUse, federatedUse, clock, log } = deps;
  const reload = keyReload(deps.changes, keys, log);
  deps.changes.onChange(() => void reload());
  const flush = () =>
    Promise.all([
      secretUse.flush(storage).catch((err: unknown) => log.error({ err }, "recording secret use failed")),
      federatedUse.flush(storage).catch((err: unknown) => log.error({ err }, "recording federated tokens in the audit trail failed")),
    ]).then(() => undefined);
  const maintain = async () => {
    // Keys another process re-encrypted under a KEK this one lacks cannot be rotated from here
    // (it was told so once, above); the servers that hold the KEK keep the schedule.
    if (keys.foreignKek === undefined) {
      const before = keys.current.kid;
      await keys.maintain();
      if (keys.current.kid !== before) log.info({ kid: keys.current.kid, alg: keys.current.alg }, "signing key rotated");
    }
    await storage.pruneRevokedTokens(clock() - CLOCK_SKEW_MS);
    // Entries keep their assertion's exp plus its skew: past that, the assertion is refused anyway.
    await storage.pruneAssertionJtis(clock());
    await deps.shared?.prune(clock());
  };
  const timers = [
    every(CHANGE_POLL_MS, reload, () => undefined),
    every(SECRET_USE_FLUSH_MS, flush, () => undefined),
    every(MAINTENANCE_MS, maintain, (err) => log.error({ err }, "key maintenance failed")),
  ];
  // Failures to read them back are the change feed's to report: the database is down for both.
  const shared = deps.shared;
  if (shared)
    timers.push(
      every(
        SHARED_LIMITS_SYNC_MS,
        () => shared.sync(),
        () => undefined,
      ),
    );
  return {
    maintain,
    flushSecretUse: flush,
    stop() {
      for (const t of timers) clearInterval(t);
    },
  };
}

/**
 * Reloads the signing keys another process changed; logs once per failing streak, and once
 * when the keys turn out to be encrypted under a KEK this process does not hold.
 */
function keyReload(changes: BackgroundDeps["changes"], keys: BackgroundDeps["keys"], log: Logger): () => Promise<void> {
  const reloader = new KeyReloader(changes, keys);
  let reloadFailing = false;
  let foreignKek: string | undefined;
  return () =>
    reloader.check().then(
      (reloaded) => {
        reloadFailing = false;
        if (!reloaded || keys.foreignKek === foreignKek) return;
        foreignKek = keys.foreignKek;
        if (foreignKek !== undefined) {
          log.warn(
            { kek_id: foreignKek },
            "the signing keys were re-encrypted under a KEK this process does not hold: it signs on with the key it has, and needs the new TESSERA_KEK at its next start; rotate keys only once every server runs with it",
          );
        }
      },
      (err: unknown) => {
        // One line per failing streak (a KEK this process lacks would otherwise log every poll).
        if (!reloadFailing) log.error({ err }, "reloading signing keys failed");
        reloadFailing = true;
      },
    );
}

/** Runs `task` every `ms` in the background (unref'd), reporting its failures. */
function every(ms: number, task: () => Promise<unknown>, onError: (err: unknown) => void): NodeJS.Timeout {
  return setInterval(() => {
    task().catch(onError);
  }, ms).unref();
}
