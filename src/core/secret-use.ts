import type { Storage } from "./ports/storage.js";

/** Granularity of a secret's recorded last-used time. */
export const SECRET_USE_GRANULARITY_MS = 60_000;

/**
 * Remembers when each secret was last used and writes the changes to storage in batches, so
 * issuing a token never writes to the database on the request path.
 */
export class SecretUseTracker {
  readonly #pending = new Map<string, number>();
  readonly #written = new Map<string, number>();

  /** Notes that `secretId` authenticated at `now` (rounded down to the minute). */
  mark(secretId: string, now: number): void {
    const t = now - (now % SECRET_USE_GRANULARITY_MS);
    if (this.#written.get(secretId) === t || this.#pending.get(secretId) === t) return;
    this.#pending.set(secretId, t);
  }

  /** Writes what changed since the last flush. */
  async flush(storage: Storage): Promise<void> {
    if (this.#pending.size === 0) return;
    const batch = new Map(this.#pending);
    this.#pending.clear();
    try {
      await storage.recordSecretUse(batch);
    } catch (err) {
      // Keep the uses for the next flush, unless a newer use of the same secret arrived.
      for (const [id, t] of batch) if ((this.#pending.get(id) ?? 0) < t) this.#pending.set(id, t);
      throw err;
    }
    for (const [id, t] of batch) this.#written.set(id, t);
    // Bound memory: the "already written" map only saves redundant writes.
    if (this.#written.size > 100_000) this.#written.clear();
  }
}
