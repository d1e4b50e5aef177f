/**
 * Token buckets keyed by string (client id, source address): each key may take `burst` at
 * once and `ratePerSecond` on average. Synchronous and allocation-light: it sits on the token
 * request path. The number of keys is bounded; the least recently used are forgotten first.
 */
export class TokenBuckets {
  readonly #buckets = new Map<string, { tokens: number; time: number }>();

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    private readonly maxKeys = 100_000,
  ) {}

  /** Takes one token for `key`; returns 0 when allowed, else the ms until one is available. */
  take(key: string, now: number): number {
    const b = this.#refilled(key, now);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - b.tokens) * 1000) / this.ratePerSecond);
  }

  /** Whether `key` has a bucket (has taken a token and not been forgotten since). */
  has(key: string): boolean {
    return this.#buckets.has(key);
  }

  /** The ms until `key` could take a token, without taking one; 0 when it could now. */
  waitFor(key: string, now: number): number {
    const b = this.#buckets.get(key);
    if (!b) return 0;
    const tokens = Math.min(this.burst, b.tokens + (Math.max(0, now - b.time) * this.ratePerSecond) / 1000);
    return tokens >= 1 ? 0 : Math.ceil(((1 - tokens) * 1000) / this.ratePerSecond);
  }

  /**
   * Folds in the state another process reports for `key` (`tokens` left at `time`): both are
   * refilled to the later of the two times and the lower count is kept, so a bucket drained
   * anywhere is drained here too, and merging the same report twice changes nothing.
   */
  merge(key: string, tokens: number, time: number): void {
    const b = this.#buckets.get(key);
    if (!b) {
      this.#insert(key, { tokens: Math.min(this.burst, tokens), time });
      return;
    }
    const at = Math.max(b.time, time);
    const mine = Math.min(this.burst, b.tokens + ((at - b.time) * this.ratePerSecond) / 1000);
    const theirs = Math.min(this.burst, tokens + ((at - time) * this.ratePerSecond) / 1000);
    b.tokens = Math.min(mine, theirs);
    b.time = at;
  }

  #refilled(key: string, now: number): { tokens: number; time: number } {
    const b = this.#buckets.get(key);
    if (!b) return this.#insert(key, { tokens: this.burst, time: now });
    // max(0, …): a wall clock stepped backwards must not drain or freeze a bucket.
    b.tokens = Math.min(this.burst, b.tokens + (Math.max(0, now - b.time) * this.ratePerSecond) / 1000);
    b.time = Math.max(b.time, now);
    // Re-insert so Map order is least-recently-used first.
    this.#buckets.delete(key);
    this.#buckets.set(key, b);
    return b;
  }

  #insert(key: string, b: { tokens: number; time: number }): { tokens: number; time: number } {
    // Full: drop the least recently used (Map order), of which there is one since size >= maxKeys > 0.
    const oldest = this.#buckets.size >= this.maxKeys ? this.#buckets.keys().next() : undefined;
    if (oldest && !oldest.done) this.#buckets.delete(oldest.value);
    this.#buckets.set(key, b);
    return b;
  }
}
