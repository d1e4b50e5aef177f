import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { SharedBuckets } from "../core/ports/shared-buckets.js";
import type { Storage } from "../core/ports/storage.js";
import { CHANGE_POLL_MS, ChangeFeed } from "../storage/change-feed.js";
import { withClientCache } from "../storage/client-cache.js";
import { instrumentStorage } from "../storage/instrumented.js";
import { isPostgresUrl, redactDatabaseUrl } from "../storage/postgres/connection.js";
import { PostgresStorage } from "../storage/postgres/postgres-storage.js";
import { SqliteStorage } from "../storage/sqlite/sqlite-storage.js";

/** A database as a --db value names it: a SQLite file or a PostgreSQL URL. */
export interface OpenedDatabase {
  readonly storage: Storage;
  readonly kind: "sqlite" | "postgres";
  /** How messages and logs name it: the file's path, or the URL with its password redacted. */
  readonly where: string;
  /** Token buckets every process on the database shares (PostgreSQL); undefined: each process counts alone. */
  readonly sharedBuckets: SharedBuckets | undefined;
}

/** Options for opening a database. */
export interface OpenOptions {
  /** PostgreSQL: hear of other processes' changes through LISTEN/NOTIFY (default true). */
  notify?: boolean;
  /** Apply pending migrations (default true); false refuses a database that needs them. */
  migrate?: boolean;
}

/** How messages and logs name the database `db` (a path, or a URL shown without its password). */
export function databaseWhere(db: string): string {
  return isPostgresUrl(db) ? redactDatabaseUrl(db) : db;
}

/** The database `db` names (an absolute SQLite path or a postgres:// URL), opened and migrated. */
export async function openDatabase(db: string, options: OpenOptions = {}): Promise<OpenedDatabase> {
  if (isPostgresUrl(db)) {
    const storage = await PostgresStorage.open(db, { notify: options.notify ?? true, migrate: options.migrate ?? true });
    return { storage, kind: "postgres", where: storage.where, sharedBuckets: storage };
  }
  // Processes on one SQLite file are one machine's workers: their limits stay per process.
  return { storage: SqliteStorage.open(db), kind: "sqlite", where: db, sharedBuckets: undefined };
}

/** What the change feed tells the rest of the server. */
export interface ChangeReports {
  /** A poll failed (the database cannot be reached). */
  unavailable(err: unknown): void;
  /** Clients in memory may (false) or may no longer (true) be served. */
  stale(stale: boolean): void;
}

/**
 * Starts watching the database for other processes' changes (change-feed.ts): polls every
 * 250 ms in the background, at once on a notification; logs when the database goes away and
 * comes back.
 */
export async function watchChanges(config: Config, database: Storage, log: Logger, reports: ChangeReports): Promise<ChangeFeed> {
  let failures = 0;
  const grace = `${Math.round(config.dbOutageGraceMs / 1000)}s`;
  return ChangeFeed.start(database, {
    pollMs: CHANGE_POLL_MS,
    outageGraceMs: config.dbOutageGraceMs,
    now: () => performance.now(),
    onUnavailable(err) {
      // One line when the outage starts, not one per poll.
      if (failures++ === 0)
        log.warn({ err }, `the database cannot be reached: clients in memory keep getting tokens for up to ${grace} (--db-outage-grace)`);
      reports.unavailable(err);
    },
    onAvailable() {
      log.info({ failed_polls: failures }, "the database can be reached again");
      failures = 0;
    },
    onStale(stale) {
      if (stale)
        log.error(
          `the database has been unreachable for longer than ${grace} (--db-outage-grace): token requests answer 503 / UNAVAILABLE until it is back`,
        );
      reports.stale(stale);
    },
  });
}

/**
 * The storage requests work on: clients cached (current as the change feed says), every
 * failed operation reported.
 */
export function requestStorage(
  database: Storage,
  changes: ChangeFeed,
  config: Config,
  onFailure: (operation: string, err: unknown) => void,
): Storage {
  return instrumentStorage(withClientCache(database, changes, config.clientCacheSize), onFailure);
}
