import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import { MAX_TOKEN_TTL_SECONDS } from "./core/client-admin.js";
import { systemClock, type Clock } from "./core/clock.js";
import { RequestGuard } from "./core/request-guard.js";
import { SecretUseTracker } from "./core/secret-use.js";
import type { KeyPolicy } from "./keys/key-lifecycle.js";
import { KeyRing } from "./keys/key-ring.js";
import { logFileExposures } from "./observability/file-exposure-warnings.js";
import { Metrics } from "./observability/metrics.js";
import { listenMetrics, type MetricsListener } from "./observability/metrics-listener.js";
import { Readiness } from "./observability/readiness.js";
import { RequestObserver } from "./observability/request-observer.js";
import { WriteHealth } from "./observability/write-health.js";
import { build } from "./server.js";
import { shellQuote } from "./shell-quote.js";
import { CLIENT_CACHE_CHECK_MS, withClientCache } from "./storage/client-cache.js";
import { instrumentStorage } from "./storage/instrumented.js";
import { SqliteStorage } from "./storage/sqlite/sqlite-storage.js";
import { StorageUnavailableError, type Storage } from "./storage/storage.js";
import { HealthState } from "./transport/grpc/health.js";
import { builtConsoleDir } from "./transport/http/console-files.js";
import { isLoopbackHost, listenPlan } from "./transport/listeners.js";
import { HealthCheckResponse_ServingStatus as Serving } from "../gen/grpc/health/v1/health_pb.js";

/** How often a process checks whether another process changed the database (keys). */
export const CHANGE_POLL_MS = 500;
/** How often last-used times of secrets are written. */
export const SECRET_USE_FLUSH_MS = 30_000;
/** How often the key schedule is applied and the deny-list pruned. */
export const MAINTENANCE_MS = 60_000;
/** Clock skew allowed to verifiers: retired keys and deny-list entries outlive tokens by this. */
export const CLOCK_SKEW_MS = 5 * 60_000;

/** Health names this process reports; "" is the whole server. */
const SERVED = ["", "tessera.v1.TokenService", "tessera.v1.ClientAdmin", "tessera.v1.KeyAdmin"];

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
 * The only place with side effects: opens storage, loads keys, listens, starts the
 * background timers. Returns once the port is open.
 */
export async function start(config: Config, log: Logger, clock: Clock = systemClock): Promise<Running> {
  const raw = SqliteStorage.open(config.db);
  let keys: KeyRing;
  try {
    keys = await KeyRing.open(raw, { policy: keyPolicy(config), clock, kek: config.kek });
  } catch (err) {
    await raw.close();
    throw err;
  }
  const health = new HealthState();
  const metrics = new Metrics({
    keyStates: () => keys.records.map((k) => k.status),
    counts: () => raw.counts(),
  });
  const writeHealth = new WriteHealth(raw, health, (writable) =>
    writable ? log.info("the database accepts writes again") : log.error("the database cannot be written (disk full?): admin changes fail with UNAVAILABLE, token issuance continues"),
  );
  // Clients are read on every token request: cache them, bounded in staleness by wall time
  // (not the injectable domain clock) so other processes' changes show within 250 ms.
  const storage = instrumentStorage(withClientCache(raw, () => performance.now(), CLIENT_CACHE_CHECK_MS, config.clientCacheSize), (operation, err) => {
    const unavailable = err instanceof StorageUnavailableError;
    metrics.storageErrors.inc({ operation, kind: unavailable ? "unavailable" : "error" });
    if (unavailable) writeHealth.failed();
  });
  const secretUse = new SecretUseTracker();
  const observer = new RequestObserver(log, metrics);
  let draining = false;
  const readiness = new Readiness({
    storage,
    keys,
    draining: () => draining,
    onChange: (report, err) => {
      if (report.status === "ready") log.info("ready: every readiness check passes");
      else if (report.failed?.every((f) => f === "shutdown")) log.info({ readiness: report }, "not ready: shutting down");
      else log.warn({ err, readiness: report }, "not ready");
    },
  });
  const server = build({
    storage,
    keys,
    clock,
    issuer: config.issuer,
    secretUse,
    health,
    log,
    observer,
    // With a metrics listener of its own, the public port does not serve /metrics.
    metrics: config.metricsAddr ? undefined : metrics,
    guard: new RequestGuard(config),
    trustedProxies: new Set(config.trustProxy),
    limits: config,
    jwksMaxAgeSeconds: Math.round(config.jwksMaxAgeMs / 1000),
    tls: config.tlsCert && config.tlsKey ? { cert: config.tlsCert, key: config.tlsKey } : undefined,
    readiness: () => readiness.check(),
    consoleDir: builtConsoleDir(),
  });
  const plan = listenPlan(config.host);
  let listening: Awaited<ReturnType<typeof server.listen>>;
  try {
    listening = await server.listen(config.port, plan);
  } catch (err) {
    await raw.close(); // the caller may remove a database this start created
    throw err;
  }
  const { addresses, skipped } = listening;
  for (const s of skipped) log.info({ host: s.host, reason: s.reason }, `not listening on ${s.host}: this machine has no such address (IPv6 off?)`);
  let metricsListener: MetricsListener | undefined;
  if (config.metricsAddr) {
    try {
      metricsListener = await listenMetrics(() => metrics.scrape(), config.metricsAddr.host, config.metricsAddr.port, (err) =>
        log.error({ err }, "collecting metrics failed"),
      );
    } catch (err) {
      await server.close();
      await raw.close();
      throw err;
    }
    log.info({ host: metricsListener.address.address, port: metricsListener.address.port }, "metrics listening");
  }

  let lastChange = await raw.changeToken();
  const poll = setInterval(() => {
    void (async () => {
      const token = await raw.changeToken();
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
  for (const t of [poll, flush, maintain]) t.unref();

  for (const name of SERVED) health.set(name, Serving.SERVING);
  logStartup(config, log, keys, addresses, (await raw.counts()).clients);

  return {
    address: addresses[0]!,
    addresses,
    storage,
    health,
    maintain: maintenance,
    async stop() {
      draining = true;
      for (const name of SERVED) health.set(name, Serving.NOT_SERVING);
      for (const t of [poll, flush, maintain]) clearInterval(t);
      writeHealth.stop();
      await Promise.all([server.close(config.shutdownGraceMs), metricsListener?.close()]);
      await secretUse.flush(storage).catch((err: unknown) => log.error({ err }, "recording secret use failed"));
      await raw.close();
      log.info("stopped");
    },
  };
}

/** The start-up lines: the effective configuration (never a secret) and the warnings an operator needs. */
function logStartup(config: Config, log: Logger, keys: KeyRing, addresses: AddressInfo[], clients: number): void {
  if (config.kek) log.info({ kek_id: config.kek.id }, "signing keys are encrypted at rest");
  else log.warn("signing keys are stored unencrypted in the database: set TESSERA_KEK or TESSERA_KEK_FILE to encrypt them");
  logFileExposures(log, config.db, config.kek !== undefined);
  if (keys.current.alg !== config.alg) {
    log.warn(
      { current_alg: keys.current.alg, configured_alg: config.alg },
      "the configured algorithm applies from the next key rotation (tessera keys rotate), so verifiers fetch the new key first",
    );
  }
  if (!config.tlsCert && !addresses.every((a) => isLoopbackHost(a.address))) {
    log.warn(
      { host: config.host },
      "serving cleartext HTTP on a non-loopback address: client secrets and tokens cross the network unencrypted; use --tls-cert/--tls-key or a TLS-terminating proxy in production",
    );
  }
  const { kek: _kek, ...shown } = config;
  log.info({ config: { ...shown, kek: config.kek ? `configured (id ${config.kek.id})` : "none" } }, "configuration");
  // Before "tessera listening", so whoever waits for that line has seen this one too.
  if (clients === 0) log.warn({ db: config.db }, `the database has no clients yet: create the first admin client with: tessera bootstrap --db ${shellQuote(config.db)}`);
  log.info(
    {
      port: addresses[0]!.port,
      host: addresses[0]!.address,
      addresses: addresses.map((a) => (a.family === "IPv6" ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`)),
      tls: config.tlsCert !== undefined,
      db: config.db,
      issuer: config.issuer,
      alg: keys.current.alg,
      kid: keys.current.kid,
    },
    "tessera listening",
  );
}
