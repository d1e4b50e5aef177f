import type { Config } from "../config.js";
import type { Storage } from "../core/ports/storage.js";
import { CLIENT_CACHE_CHECK_MS, withClientCache } from "../storage/client-cache.js";
import { instrumentStorage } from "../storage/instrumented.js";
import { SqliteStorage } from "../storage/sqlite/sqlite-storage.js";

/** The database the configuration names, opened and migrated. */
export function openDatabase(config: Config): SqliteStorage {
  return SqliteStorage.open(config.db);
}

/**
 * The storage requests work on: clients cached, every failed operation reported. The cache is
 * bounded in staleness by wall time (not the injectable domain clock), so other processes'
 * changes show within 250 ms.
 */
export function requestStorage(database: Storage, config: Config, onFailure: (operation: string, err: unknown) => void): Storage {
  return instrumentStorage(withClientCache(database, () => performance.now(), CLIENT_CACHE_CHECK_MS, config.clientCacheSize), onFailure);
}
