import type { Logger } from "pino";
import { type Storage, StorageUnavailableError } from "../core/ports/storage.js";
import type { KeyRing } from "../keys/key-ring.js";
import { Metrics } from "../observability/metrics.js";
import { Readiness } from "../observability/readiness.js";
import { RequestObserver } from "../observability/request-observer.js";
import { WriteHealth } from "../observability/write-health.js";
import { HealthState } from "../transport/grpc/health-state.js";
import { WRITE_SERVICE_NAMES } from "../transport/grpc/service-names.js";

/** What the process reports about itself: health, metrics, request logs, and whether it can write. */
export interface Telemetry {
  health: HealthState;
  metrics: Metrics;
  observer: RequestObserver;
  writeHealth: WriteHealth;
  /** Counts a failed storage operation; one the database refused for want of space starts the write-health probe. */
  storageFailed(operation: string, err: unknown): void;
}

/** Health, metrics and request logs of a process serving `database` with `keys`. */
export function composeTelemetry(log: Logger, database: Storage, keys: KeyRing): Telemetry {
  const health = new HealthState();
  const metrics = new Metrics({ keyStates: () => keys.records.map((k) => k.status), counts: () => database.counts() });
  const writeHealth = new WriteHealth(database, (writable) => {
    health.setServing(WRITE_SERVICE_NAMES, writable);
    if (writable) log.info("the database accepts writes again");
    else
      log.error(
        "the database cannot be written (unreachable, disk full or read-only): admin changes fail with UNAVAILABLE, token issuance continues for clients in memory",
      );
  });
  return {
    health,
    metrics,
    observer: new RequestObserver(log, metrics),
    writeHealth,
    storageFailed(operation, err) {
      const unavailable = err instanceof StorageUnavailableError;
      metrics.storageErrors.inc({ operation, kind: unavailable ? "unavailable" : "error" });
      if (unavailable) writeHealth.failed();
    },
  };
}

/** GET /readyz: the storage requests use, the keys, and whether the process is draining; changes are logged. */
export function composeReadiness(log: Logger, storage: Storage, keys: KeyRing, draining: () => boolean): Readiness {
  return new Readiness({
    storage,
    keys,
    draining,
    onChange: (report, err) => {
      if (report.status === "ready") log.info("ready: every readiness check passes");
      else if (report.failed?.every((f) => f === "shutdown")) log.info({ readiness: report }, "not ready: shutting down");
      else log.warn({ err, readiness: report }, "not ready");
    },
  });
}
