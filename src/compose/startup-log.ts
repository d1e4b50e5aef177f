import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { KeyRing } from "../keys/key-ring.js";
import { shellQuote } from "../shell-quote.js";
import { logFileExposures } from "../storage/sqlite/file-exposure-warnings.js";
import { isLoopbackHost } from "../transport/listener/listen-all.js";
import type { OpenedDatabase } from "./storage.js";

/**
 * The start-up lines: the effective configuration (never a secret: the KEK shows as its id, a
 * database URL without its password) and the warnings an operator needs.
 */
export function logStartup(
  config: Config,
  database: OpenedDatabase,
  log: Logger,
  keys: KeyRing,
  addresses: AddressInfo[],
  clients: number,
): void {
  if (config.kek) log.info({ kek_id: config.kek.id }, "signing keys are encrypted at rest");
  else log.warn("signing keys are stored unencrypted in the database: set TESSERA_KEK or TESSERA_KEK_FILE to encrypt them");
  if (database.kind === "sqlite") logFileExposures(log, config.db, config.kek !== undefined);
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
  log.info({ config: { ...shown, db: database.where, kek: config.kek ? `configured (id ${config.kek.id})` : "none" } }, "configuration");
  // Before "tessera listening", so whoever waits for that line has seen this one too.
  if (clients === 0) {
    const how =
      database.kind === "sqlite"
        ? `tessera bootstrap --db ${shellQuote(config.db)}`
        : `tessera bootstrap with the same --db or TESSERA_DB (${database.where}, password as given to this server)`;
    log.warn({ db: database.where }, `the database has no clients yet: create the first admin client with: ${how}`);
  }
  const first = addresses[0];
  log.info(
    {
      port: first?.port,
      host: first?.address,
      addresses: addresses.map((a) => (a.family === "IPv6" ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`)),
      tls: config.tlsCert !== undefined,
      db: database.where,
      issuer: config.issuer,
      alg: keys.current.alg,
      kid: keys.current.kid,
    },
    "tessera listening",
  );
}
