import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import { type Clock, systemClock } from "../core/clock.js";
import type { Storage } from "../core/ports/storage.js";
import { SharedLimits } from "../core/shared-limits.js";
import { listenMetrics, type MetricsListener } from "../observability/metrics-listener.js";
import type { HealthState } from "../transport/grpc/health-state.js";
import { HEALTH_SERVICE_NAMES, TOKEN_SERVICE_NAME } from "../transport/grpc/service-names.js";
import { listenPlan } from "../transport/listener/listen-all.js";
import type { Listener } from "../transport/listener/listener.js";
import { startBackgroundWork } from "./background.js";
import { composeCore } from "./core.js";
import { openKeys } from "./keys.js";
import { composeListener } from "./listener.js";
import { composeReadiness, composeTelemetry, type Telemetry } from "./observability.js";
import { logStartup } from "./startup-log.js";
import { openDatabase, requestStorage, watchChanges } from "./storage.js";
import { composeTransports } from "./transports.js";

/** A running Tessera. */
export interface RunningServer {
  /** The first address listened on (127.0.0.1 by default); every one has the same port. */
  address: AddressInfo;
  /** Every address listened on: 127.0.0.1 and ::1 by default, or the one --host names. */
  addresses: AddressInfo[];
  storage: Storage;
  health: HealthState;
  /** Applies the key schedule and prunes the deny-list now (the timer does it every minute). */
  maintain(): Promise<void>;
  /** Graceful stop: NOT_SERVING, refuse new connections, finish requests in flight, close the database. */
  stop(): Promise<void>;
}

/**
 * The composition root: builds Tessera from its parts in order (configuration, storage, keys,
 * core, transports, listener), listens, and starts the background work. The only place with
 * side effects; it decides nothing itself. Returns once the port is open. A start that fails
 * closes the database it opened (the caller may remove a database this start created).
 */
export async function startServer(config: Config, log: Logger, clock: Clock = systemClock): Promise<RunningServer> {
  const opened = await openDatabase(config.db, { notify: config.dbNotify });
  const database = opened.storage;
  const closeDatabase = () => database.close();
  const keys = await closingOnFailure(closeDatabase, () => openKeys(config, database, clock));
  const telemetry = composeTelemetry(log, database, keys);
  const changes = await closingOnFailure(closeDatabase, () =>
    watchChanges(config, database, log, {
      unavailable: (err) => telemetry.storageFailed("changeToken", err),
      stale: (stale) => telemetry.health.setServing([TOKEN_SERVICE_NAME], !stale),
    }),
  );
  const storage = requestStorage(database, changes, config, telemetry.storageFailed);
  const closeAll = async () => {
    changes.stop();
    await database.close();
  };
  let draining = false;
  const readiness = composeReadiness(log, storage, keys, () => draining);
  const shared = opened.sharedBuckets && new SharedLimits(opened.sharedBuckets, (err) => telemetry.storageFailed("takeBuckets", err));
  const core = composeCore(config, storage, keys, clock, shared);
  const transports = composeTransports(config, log, core, telemetry, readiness, config.metricsAddr ? undefined : telemetry.metrics);
  const listener = composeListener(config, transports);

  const addresses = await closingOnFailure(closeAll, () => listenEverywhere(listener, config, log));
  const [address] = addresses;
  if (address === undefined) throw new Error("the listener reported no address"); // listenAll opens the plan's mandatory host or throws
  const metricsListener = await closingOnFailure(closeAll, () => listenMetricsIfAsked(config, log, telemetry), listener);
  const background = startBackgroundWork({
    changes,
    storage,
    keys,
    secretUse: core.secretUse,
    federatedUse: core.federatedUse,
    shared,
    clock,
    log,
  });

  telemetry.health.setServing(HEALTH_SERVICE_NAMES, true);
  logStartup(config, opened, log, keys, addresses, (await database.counts()).clients);
  return {
    address,
    addresses,
    storage,
    health: telemetry.health,
    maintain: background.maintain,
    async stop() {
      draining = true;
      telemetry.health.setServing(HEALTH_SERVICE_NAMES, false);
      background.stop();
      changes.stop();
      telemetry.writeHealth.stop();
      await Promise.all([listener.close(config.shutdownGraceMs), metricsListener?.close()]);
      await background.flushSecretUse();
      await database.close();
      log.info("stopped");
    },
  };
}

/** Listens on every address of the plan; logs the optional ones this machine does not have. */
async function listenEverywhere(listener: Listener, config: Config, log: Logger): Promise<AddressInfo[]> {
  const { addresses, skipped } = await listener.listen(config.port, listenPlan(config.host));
  for (const s of skipped)
    log.info({ host: s.host, reason: s.reason }, `not listening on ${s.host}: this machine has no such address (IPv6 off?)`);
  return addresses;
}

/** The metrics listener of its own that --metrics-addr asks for, if it does. */
async function listenMetricsIfAsked(config: Config, log: Logger, telemetry: Telemetry): Promise<MetricsListener | undefined> {
  if (!config.metricsAddr) return undefined;
  const { host, port } = config.metricsAddr;
  const onError = (err: unknown) => log.error({ err }, "collecting metrics failed");
  const metrics = await listenMetrics(() => telemetry.metrics.scrape(), host, port, onError);
  log.info({ host: metrics.address.address, port: metrics.address.port }, "metrics listening");
  return metrics;
}

/** Runs a start-up step; if it fails, closes what the start opened so far (`close`, and the listener) and rethrows. */
async function closingOnFailure<T>(close: () => Promise<void>, step: () => Promise<T>, listener?: { close(): Promise<void> }): Promise<T> {
  try {
    return await step();
  } catch (err) {
    await listener?.close();
    await close();
    throw err;
  }
}
