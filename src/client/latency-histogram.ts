/** Bucket upper bounds in milliseconds: token requests take ~1 ms locally, seconds when sick. */
export const DEFAULT_LATENCY_BUCKETS_MS: readonly number[] = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/**
 * A fixed-bucket latency histogram, the shape Prometheus uses. Unlike a running
 * `avg = (avg + duration) / 2`, which weights the last sample as much as all before it,
 * it keeps the whole distribution, so p50/p99 and the true mean can be read from it.
 */
export class LatencyHistogram {
  readonly #bounds: readonly number[];
  readonly #counts: number[];
  #count = 0;
  #sum = 0;
  #max = 0;

  constructor(bounds: readonly number[] = DEFAULT_LATENCY_BUCKETS_MS) {
    this.#bounds = [...bounds].sort((a, b) => a - b);
    this.#counts = new Array<number>(this.#bounds.length + 1).fill(0); // the last one is +Inf
  }

  /** Records one duration. */
  observe(ms: number): void {
    let i = this.#bounds.findIndex((b) => ms <= b);
    if (i < 0) i = this.#bounds.length;
    // #counts has bounds.length + 1 entries (the last is +Inf): i is one of its indexes.
    this.#counts[i]!++;
    this.#count++;
    this.#sum += ms;
    this.#max = Math.max(this.#max, ms);
  }

  /** How many durations were recorded. */
  get count(): number {
    return this.#count;
  }

  /** The arithmetic mean of all recorded durations (0 when none). */
  get mean(): number {
    return this.#count === 0 ? 0 : this.#sum / this.#count;
  }

  /** The largest recorded duration. */
  get max(): number {
    return this.#max;
  }

  /**
   * The q-quantile (0 < q <= 1), interpolated linearly inside its bucket as Prometheus'
   * histogram_quantile does; within one bucket width of the exact value. 0 when empty.
   */
  quantile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = q * this.#count;
    let seen = 0;
    // i < #counts.length; #bounds is read at i - 1 >= 0 and at i only while i < #bounds.length.
    for (let i = 0; i < this.#counts.length; i++) {
      const n = this.#counts[i]!;
      if (seen + n >= rank && n > 0) {
        const lower = i === 0 ? 0 : this.#bounds[i - 1]!;
        const upper = i < this.#bounds.length ? this.#bounds[i]! : this.#max; // +Inf: best known bound
        return Math.min(this.#max, lower + (upper - lower) * ((rank - seen) / n));
      }
      seen += n;
    }
    return this.#max;
  }

  /** Cumulative counts per upper bound, Prometheus style ("+Inf" last). */
  buckets(): Array<{ le: number | "+Inf"; count: number }> {
    let running = 0;
    return this.#counts.map((n, i) => {
      running += n;
      return { le: this.#bounds[i] ?? "+Inf", count: running };
    });
  }
}
