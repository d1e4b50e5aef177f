import { setTimeout as delay } from "node:timers/promises";
import type pg from "pg";
import { type AuditEvent, StorageUnavailableError } from "../../core/ports/storage.js";
import { isConnectionLost, isRetryable, isUnavailable } from "./errors.js";
import type { Database } from "./pool.js";

/** The channel a NOTIFY is sent on with each committed change (payload: the change counter). */
export const CHANGE_CHANNEL = "tessera_change";

/** How often a transaction is tried when PostgreSQL reports a serialization failure or deadlock. */
export const MAX_ATTEMPTS = 5;

/** Runs one statement inside the transaction. */
export type TxQuery = <R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]) => Promise<pg.QueryResult<R>>;

/** What a write did: its result, whether it changed anything, and the audit event to record with it. */
export interface WriteOutcome<T> {
  value: T;
  changed: boolean;
  audit?: AuditEvent | undefined;
}

/*
 * Every write transaction starts by bumping the one-row change counter. The row lock that takes
 * is held to COMMIT, so it is the store's write lock, as SQLite's BEGIN IMMEDIATE is:
 * - writers run one after another across processes, so read-modify-write (updateClient's scope
 *   cut-offs, updateSigningKeys' decide()) always starts from the last committed state;
 * - every writer takes this lock first, so writers never deadlock with each other;
 * - audit ids come from a sequence called under the lock, so they increase in commit order
 *   (a sequence alone gives nextval order, which two transactions can commit the other way);
 * - the counter is what changeToken() reads, and committed with the change it counts. The NOTIFY
 *   is queued in the same statement and delivered on commit only.
 * A transaction that changed nothing rolls back, so the counter (and caches) stay as they were.
 */
/** Begins a write transaction under the change-counter lock (see above); exported for the one write that cannot be retried (an import). */
export const BEGIN_AND_BUMP = `BEGIN; WITH bumped AS (UPDATE change_counter SET value = value + 1 RETURNING value)
  SELECT value, pg_notify('${CHANGE_CHANNEL}', value::text) FROM bumped`;

const INSERT_AUDIT = "INSERT INTO audit_events (time, actor, action, target, changes, origin) VALUES ($1, $2, $3, $4, $5, $6)";

/**
 * Runs `work` as one write transaction under the change-counter lock (see above), records its
 * audit event in it, and commits only when something changed. Retried, up to MAX_ATTEMPTS times
 * with a short random pause: serialization failures and deadlocks, and a transaction whose
 * connection was lost before COMMIT was sent (the server rolled it back; a pooled connection
 * may have died with a server restart). A connection lost during COMMIT is not retried: the
 * change may have been applied. Unavailability becomes StorageUnavailableError. `work` may run
 * more than once, so it must have no effects outside the transaction.
 */
export async function writeTransaction<T>(db: Database, work: (query: TxQuery) => Promise<WriteOutcome<T>>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await db.connect();
    let committing = false;
    let broken: Error | undefined;
    try {
      await client.query(BEGIN_AND_BUMP);
      const outcome = await work((text, values) => client.query(text, values));
      if (!outcome.changed && outcome.audit === undefined) {
        await client.query("ROLLBACK");
        return outcome.value;
      }
      const e = outcome.audit;
      if (e) await client.query(INSERT_AUDIT, [e.time, e.actor, e.action, e.target, JSON.stringify(e.changes), e.origin]);
      committing = true;
      await client.query("COMMIT");
      return outcome.value;
    } catch (err) {
      if (isUnavailable(err)) broken = err as Error;
      else await client.query("ROLLBACK").catch((e: unknown) => (broken = e as Error));
      const again = isRetryable(err) || (isConnectionLost(err) && !committing);
      if (again && attempt >= MAX_ATTEMPTS && isRetryable(err)) {
        // Still conflicting after every attempt: "busy, try again later", never a raw 40001.
        throw new StorageUnavailableError(
          `the database ${db.where} kept reporting conflicts (${(err as { code?: string }).code}) after ${MAX_ATTEMPTS} attempts`,
        );
      }
      if (!again || attempt >= MAX_ATTEMPTS) throw db.error(err);
    } finally {
      client.release(broken);
    }
    await delay(Math.random() * 10 * attempt);
  }
}
