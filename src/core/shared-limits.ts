import type { BucketState, SharedBuckets } from "./ports/shared-buckets.js";
import type { TokenBuckets } from "./rate-limit.js";

/** Takes waiting for the shared store at once, at most; past that, a take counts in this process only. */
const MAX_WAITING = 1000;

/** A bucket of a registered group: the group's name and the bucket's key in it. */
export interface SharedBucketRef {
  readonly group: string;
  readonly key: string;
}

/**
 * Keeps this process's token buckets in step with the ones every process on the database shares
 * (ports/shared-buckets.ts), so that N replicas do not allow N times a limit. Each limit keeps
 * answering from memory, synchronously; what changes is that a limited event (a failed
 * authentication, a revocation) is also taken from the shared bucket, whose state then replaces
 * the local one when it is lower, and that the buckets other processes wrote are folded in
 * every half second (sync). Takes go to the store one at a time per process, so a flood of
 * failures holds at most one database connection.
 */
export class SharedLimits {
  readonly #groups = new Map<string, TokenBuckets>();
  #cursor: number | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  #waiting = 0;

  constructor(
    private readonly store: SharedBuckets,
    /** Told when the store could not be asked (the local buckets alone decided then). */
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Shares `buckets` under the name `group` (no ":" in it). */
  register(group: string, buckets: TokenBuckets): void {
    this.#groups.set(group, buckets);
  }

  /**
   * Takes one token from each bucket in the shared store and folds the states it reports into
   * the local buckets. Resolves to whether each shared bucket had a token, or to undefined when
   * the store could not be asked (unreachable, or too many takes already waiting): then the
   * local buckets, already taken from by the caller, decide alone. Never rejects.
   */
  take(refs: readonly SharedBucketRef[], now: number): Promise<boolean[] | undefined> {
    if (this.#waiting >= MAX_WAITING) return Promise.resolve(undefined);
    this.#waiting++;
    const run = this.#tail.then(() => this.#take(refs, now)).finally(() => this.#waiting--);
    this.#tail = run.catch(() => {});
    return run;
  }

  /** Folds in what other processes wrote since the last sync. Rejects when the store cannot be read. */
  async sync(): Promise<void> {
    const { buckets, cursor } = await this.store.bucketsChangedSince(this.#cursor);
    for (const b of buckets) this.#merge(b);
    this.#cursor = cursor;
  }

  /** Drops the shared buckets that hold nothing any more (refilled to their burst by `now`). */
  async prune(now: number): Promise<void> {
    await this.store.pruneBuckets(now);
  }

  async #take(refs: readonly SharedBucketRef[], now: number): Promise<boolean[] | undefined> {
    const takes = refs.map((r) => {
      const b = this.#group(r.group);
      return { key: `${r.group}:${r.key}`, ratePerSecond: b.ratePerSecond, burst: b.burst };
    });
    try {
      const after = await this.store.takeBuckets(takes, now);
      for (const a of after) this.#merge(a);
      return after.map((a) => a.taken);
    } catch (err) {
      this.onError(err);
      return undefined;
    }
  }

  #group(name: string): TokenBuckets {
    const g = this.#groups.get(name);
    if (!g) throw new Error(`no shared bucket group ${JSON.stringify(name)} is registered`);
    return g;
  }

  #merge(state: BucketState): void {
    // Group names hold no ":", keys may (IPv6 addresses): the first ":" separates them.
    const colon = state.key.indexOf(":");
    const group = colon < 0 ? undefined : this.#groups.get(state.key.slice(0, colon));
    group?.merge(state.key.slice(colon + 1), state.tokens, state.time);
  }
}
