// Medians and ranges over rounds.

/** Median of numbers (undefined for none). */
export function median(xs) {
  const v = xs.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** { median, min, max } of a field over rounds. */
export function spread(rounds, pick) {
  const v = rounds.map(pick).filter((x) => typeof x === "number" && Number.isFinite(x));
  if (v.length === 0) return undefined;
  return { median: median(v), min: Math.min(...v), max: Math.max(...v) };
}

/** a / b, rounded to two decimals, or undefined. */
export function ratio(a, b) {
  return typeof a === "number" && typeof b === "number" && b > 0 ? Math.round((100 * a) / b) / 100 : undefined;
}
