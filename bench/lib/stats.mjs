// Medians and ranges over rounds.

/**
 * A figure over rounds.
 * @typedef {{ median: number, min: number, max: number }} Spread
 */

/**
 * A finite number, not undefined or NaN.
 * @param {unknown} x
 * @returns {x is number}
 */
const isFiniteNumber = (x) => typeof x === "number" && Number.isFinite(x);

/**
 * Median of numbers (undefined for none).
 * @param {readonly (number | undefined)[]} xs
 * @public (test/bench/parsers.test.ts)
 */
export function median(xs) {
  const v = xs.filter(isFiniteNumber).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const m = v.length >> 1;
  const upper = /** @type {number} */ (v[m]);
  const lower = /** @type {number} */ (v[m - 1]);
  return v.length % 2 ? upper : (lower + upper) / 2;
}

/**
 * { median, min, max } of a field over rounds.
 * @template T
 * @param {readonly T[]} rounds
 * @param {(round: T) => number | undefined} pick
 * @returns {Spread | undefined}
 */
export function spread(rounds, pick) {
  const v = rounds.map(pick).filter(isFiniteNumber);
  if (v.length === 0) return undefined;
  return { median: /** @type {number} */ (median(v)), min: Math.min(...v), max: Math.max(...v) };
}

/**
 * a / b, rounded to two decimals, or undefined.
 * @param {number | undefined} a
 * @param {number | undefined} b
 */
export function ratio(a, b) {
  return typeof a === "number" && typeof b === "number" && b > 0 ? Math.round((100 * a) / b) / 100 : undefined;
}
