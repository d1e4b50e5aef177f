// The goals a full run compares its figures with (see bench/RESULTS.md), and how a figure is
// written in the "Ratios and targets" table. Informational: no goal fails a run.

/**
 * One row of the table: `met` is undefined where the figure cannot be had (feature absent).
 * @typedef {object} Goal
 * @property {string} what
 * @property {string} goal
 * @property {number | string | undefined} measured
 * @property {boolean | undefined} met
 */

/**
 * x ≥ min; false when x is missing.
 * @param {number | undefined} x
 * @param {number} min
 */
export const atLeast = (x, min) => x !== undefined && x >= min;

/**
 * x < max; false when x is missing.
 * @param {number | undefined} x
 * @param {number} max
 */
export const below = (x, max) => x !== undefined && x < max;

/**
 * Two decimals, or undefined.
 * @param {number | undefined} x
 */
export const round2 = (x) => (typeof x === "number" ? Math.round(100 * x) / 100 : undefined);

/**
 * A cost as a percentage; a negative one is noise, and said so.
 * @param {number | undefined} x
 */
export const pctText = (x) =>
  typeof x === "number" ? (x < 0 ? `none (${Math.round(-x * 1000) / 10}% better: noise)` : `${Math.round(x * 1000) / 10}%`) : "n/a";

/**
 * A ratio against a baseline as a signed change, e.g. "+3.1%" or "-4%".
 * @param {number | undefined} q
 */
export const signedPct = (q) => (q === undefined ? "n/a" : `${q >= 1 ? "+" : ""}${Math.round((q - 1) * 1000) / 10}%`);
