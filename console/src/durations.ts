const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/**
 * Reads a duration typed by a person: "90", "90s", "15m", "1h", "7d" (seconds when no unit).
 * Returns whole seconds, or undefined when it is not one of those forms.
 */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d{1,9})\s*([smhd]?)\s*$/i.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * UNITS[(m[2] || "s").toLowerCase()]!;
}

/** A number of seconds in the largest unit that divides it evenly: 3600 -> "1h", 90 -> "90s". */
export function formatDuration(seconds: number): string {
  for (const unit of ["d", "h", "m"] as const) {
    const size = UNITS[unit]!;
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

/** The words shown under a duration field that could not be read. */
export const DURATION_HINT = "Write a whole number followed by s, m, h or d, such as 900s, 15m, 1h or 7d.";
