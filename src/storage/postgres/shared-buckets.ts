import type { BucketState, BucketTake, BucketTaken } from "../../core/ports/shared-buckets.js";
import { isRetryable } from "./errors.js";
import type { Database } from "./pool.js";

/** The database's own clock in ms: what the sync cursor counts in, whatever the replicas' clocks say. */
const DB_NOW = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

/** A bucket refilled from its last take to the time of this one (never above its burst). */
const REFILLED = "least(excluded.burst, b.tokens + greatest(0, excluded.time - b.time) * excluded.rate / 1000)";

// One statement per take, atomic per bucket: ON CONFLICT locks the bucket's row and computes
// from its latest version, so concurrent takes from several replicas never lose one. A new
// bucket starts full (burst) and gives its first token. Keys are sorted by the caller so two
// multi-bucket takes lock in the same order and cannot deadlock.
const TAKE = `INSERT INTO shared_buckets AS b (key, tokens, time, rate, burst, taken, updated)
  SELECT key, burst - 1, $4, rate, burst, true, ${DB_NOW} FROM unnest($1::text[], $2::float8[], $3::float8[]) AS t (key, rate, burst)
  ON CONFLICT (key) DO UPDATE SET
    tokens = CASE WHEN ${REFILLED} >= 1 THEN ${REFILLED} - 1 ELSE ${REFILLED} END,
    taken = ${REFILLED} >= 1,
    time = greatest(b.time, excluded.time), rate = excluded.rate, burst = excluded.burst, updated = excluded.updated
  RETURNING key, tokens, time, taken`;

const CHANGED = `SELECT key, tokens, time, ${DB_NOW} AS now FROM shared_buckets WHERE updated >= $1`;

const PRUNE = "DELETE FROM shared_buckets WHERE tokens + greatest(0, $1 - time) * rate / 1000 >= burst";

/**
 * How far back each sync reads again, ms: a take whose statement started (and read the clock)
 * before the previous sync but committed after it is still seen. Reading a bucket twice is
 * harmless (merging is idempotent); missing one is not.
 */
const SYNC_OVERLAP_MS = 2000;

/** Takes a token from each bucket (see ports/shared-buckets.ts); a deadlock or serialization failure is tried again. */
export async function takeBuckets(db: Database, takes: readonly BucketTake[], now: number): Promise<BucketTaken[]> {
  if (takes.length === 0) return [];
  const sorted = [...takes].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const rows = await retrying(() =>
    db.query<{ key: string; tokens: number; time: number; taken: boolean }>(TAKE, [
      sorted.map((t) => t.key),
      sorted.map((t) => t.ratePerSecond),
      sorted.map((t) => t.burst),
      now,
    ]),
  );
  const byKey = new Map(rows.rows.map((r) => [r.key, r]));
  return takes.map((t) => {
    const r = byKey.get(t.key);
    if (!r) throw new Error(`the bucket ${JSON.stringify(t.key)}: the database returned no row`);
    return { key: r.key, tokens: r.tokens, time: r.time, taken: r.taken };
  });
}

/** The buckets written since `cursor` (the database's clock, ms), read with `read` (the background connection). */
export async function bucketsChangedSince(
  read: <R extends { key: string }>(text: string, values: unknown[]) => Promise<R[]>,
  cursor: number | undefined,
): Promise<{ buckets: BucketState[]; cursor: number }> {
  const rows = await read<{ key: string; tokens: number; time: number; now: number }>(
    cursor === undefined ? `${CHANGED} OR true` : CHANGED,
    [cursor ?? 0],
  );
  const now = rows[0]?.now;
  const next = now === undefined ? undefined : now - SYNC_OVERLAP_MS;
  // No row, no clock reading: keep the old cursor (or start from the beginning of time).
  return { buckets: rows.map((r) => ({ key: r.key, tokens: r.tokens, time: r.time })), cursor: next ?? cursor ?? 0 };
}

/** Drops the buckets full again by `now`. */
export async function pruneBuckets(db: Database, now: number): Promise<number> {
  return (await db.query(PRUNE, [now])).rowCount ?? 0;
}

async function retrying<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (!isRetryable(err) || attempt >= 5) throw err;
    }
  }
}
