const UNITS: Record<string, number> = { "": 1000, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The forms every duration flag and variable accepts, for messages and help texts. */
export const DURATION_FORMS = "such as 90s, 10m, 1h or 30d (also ms; a bare number is seconds)";

/**
 * A duration such as 90, 90s, 15m, 12h, 30d or 250ms, in milliseconds; undefined when `raw` is
 * not one. The same forms are accepted by `tessera serve` and by every other command.
 */
export function parseDuration(raw: string): number | undefined {
  const m = /^(\d+)(ms|[smhd]?)$/.exec(raw.trim());
  const unit = UNITS[m?.[2] ?? "unknown"];
  if (!m || unit === undefined) return undefined;
  const ms = Number(m[1]) * unit;
  return Number.isSafeInteger(ms) ? ms : undefined;
}
