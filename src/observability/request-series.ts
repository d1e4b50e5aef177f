/**
 * The per-request counter and latency histogram of the token endpoints, kept as plain numbers
 * and handed to prom-client only when /metrics is scraped.
 *
 * prom-client's Counter and Histogram hash and validate the label set on every increment
 * (a few µs each on the token path, measured in bench/); here a request adds to a series
 * found once per label combination. The objects below implement the part of prom-client's
 * metric interface its Registry reads (`name`, `help`, `type`, `get()`, `reset()`), so the
 * exposition format, escaping and content type stay prom-client's.
 */

type Labels = Record<string, string>;

interface MetricValue {
  labels: Labels;
  /** Series labels, written after `labels` (prom-client's layout for histogram lines). */
  sharedLabels?: Labels;
  value: number;
  /** The sample's name when it differs from the metric's (histogram _bucket, _sum, _count). */
  metricName?: string | undefined;
}

interface MetricData {
  name: string;
  help: string;
  type: "counter" | "histogram";
  values: MetricValue[];
  aggregator: "sum";
}

/** A monotonic counter per label combination. */
export class SeriesCounter {
  readonly type = "counter";
  readonly aggregator = "sum";
  readonly #series = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
  ) {}

  /** The series for these label values (in labelNames order); keep it and call inc(). */
  series(...values: string[]): { inc(): void } {
    const key = values.join("\u0000");
    let s = this.#series.get(key);
    if (!s) {
      s = { labels: zipLabels(this.labelNames, values), value: 0 };
      this.#series.set(key, s);
    }
    const entry = s;
    return {
      inc: () => {
        entry.value++;
      },
    };
  }

  get(): MetricData {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: [...this.#series.values()].map((s) => ({ labels: { ...s.labels }, value: s.value })),
    };
  }

  reset(): void {
    for (const s of this.#series.values()) s.value = 0;
  }
}

/** A histogram (cumulative buckets, sum, count) per label combination. */
export class SeriesHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  readonly #series = new Map<string, { labels: Labels; buckets: Float64Array; sum: number; count: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    private readonly upperBounds: readonly number[],
  ) {
    // 1 <= i < length: both indexes exist.
    for (let i = 1; i < upperBounds.length; i++) {
      if (!(upperBounds[i]! > upperBounds[i - 1]!)) throw new Error("histogram buckets must increase");
    }
  }

  /** The series for these label values (in labelNames order); keep it and call observe(). */
  series(...values: string[]): { observe(v: number): void } {
    const key = values.join("\u0000");
    let s = this.#series.get(key);
    if (!s) {
      s = { labels: zipLabels(this.labelNames, values), buckets: new Float64Array(this.upperBounds.length), sum: 0, count: 0 };
      this.#series.set(key, s);
    }
    const entry = s;
    const bounds = this.upperBounds;
    return {
      observe: (v: number) => {
        if (!Number.isFinite(v)) return;
        entry.sum += v;
        entry.count++;
        // Non-cumulative here; made cumulative when scraped. buckets has one entry per bound.
        for (let i = 0; i < bounds.length; i++) {
          if (v <= bounds[i]!) {
            entry.buckets[i]!++;
            break;
          }
        }
      },
    };
  }

  /** What the Registry writes to /metrics: `le` first, then the series labels, as prom-client does. */
  getForPromString(): MetricData {
    const values: MetricValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.#series.values()) {
      let acc = 0;
      this.upperBounds.forEach((le, i) => {
        acc += s.buckets[i] ?? 0;
        values.push({ labels: { le: String(le) }, sharedLabels: s.labels, value: acc, metricName: bucket });
      });
      values.push({ labels: { le: "+Inf" }, sharedLabels: s.labels, value: s.count, metricName: bucket });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** The same values with the labels merged (prom-client's get(), used for JSON). */
  get(): MetricData {
    const data = this.getForPromString();
    data.values = data.values.map(({ labels, sharedLabels, value, metricName }) => ({
      labels: { ...labels, ...sharedLabels },
      value,
      metricName,
    }));
    return data;
  }

  reset(): void {
    for (const s of this.#series.values()) {
      s.buckets.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }
}

function zipLabels(names: readonly string[], values: string[]): Labels {
  if (values.length !== names.length) throw new Error(`expected ${names.length} label values, got ${values.length}`);
  const labels: Labels = {};
  // Same lengths (checked above): every name has its value.
  names.forEach((n, i) => {
    labels[n] = values[i]!;
  });
  return labels;
}
