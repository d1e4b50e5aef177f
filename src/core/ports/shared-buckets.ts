/** One bucket to take a token from, with its shape as the taker's configuration has it. */
export interface BucketTake {
  readonly key: string;
  readonly ratePerSecond: number;
  readonly burst: number;
}

/** A token bucket as the shared store holds it: `tokens` left at `time` (epoch ms). */
export interface BucketState {
  readonly key: string;
  readonly tokens: number;
  readonly time: number;
}

/** What a take did to one bucket: its state after, and whether a token was there to take. */
export interface BucketTaken extends BucketState {
  readonly taken: boolean;
}

/**
 * Token buckets kept where every process serving one database sees them (a table), so that a
 * limit holds for the whole cluster and not once per replica: the failed-authentication
 * throttle and the per-client revocation cap. Written only when a limited event happens (a
 * failure, a revocation), never on the success path of a token request; each process reads
 * what the others wrote in the background (changedSince) and answers from memory.
 */
export interface SharedBuckets {
  /**
   * Takes one token from each bucket at `now`, atomically per bucket: refilled at its rate
   * since its last take (never above its burst), then one less when at least one is there.
   * A bucket nobody took from yet starts full. Returns each bucket's state after, in order.
   */
  takeBuckets(takes: readonly BucketTake[], now: number): Promise<BucketTaken[]>;
  /**
   * The buckets written since `cursor` (undefined: all of them), and the cursor to pass next
   * time. A bucket may be returned again by the next call; never one written meanwhile missed.
   */
  bucketsChangedSince(cursor: number | undefined): Promise<{ buckets: BucketState[]; cursor: number }>;
  /** Drops the buckets that have refilled to their burst by `now` (they hold nothing); returns how many. */
  pruneBuckets(now: number): Promise<number>;
}
