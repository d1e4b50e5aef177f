import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";

const FORMAT = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

/** A timestamp as local date and time, or `missing` when unset. */
export function formatTime(ts: Timestamp | undefined, missing = "never"): string {
  return ts ? FORMAT.format(timestampDate(ts)) : missing;
}

/** Milliseconds since the epoch as local date and time. */
export function formatMs(ms: number): string {
  return FORMAT.format(new Date(ms));
}

const CLOCK = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });

/** Milliseconds since the epoch as a time of day when it is today, else as date and time. */
export function formatSoon(ms: number, now = Date.now()): string {
  return new Date(ms).toDateString() === new Date(now).toDateString() ? CLOCK.format(new Date(ms)) : FORMAT.format(new Date(ms));
}

/** ISO 8601 form of a timestamp for a <time datetime> attribute. */
export function isoTime(ts: Timestamp | undefined): string | undefined {
  return ts ? timestampDate(ts).toISOString() : undefined;
}

/** A wait in words: 45 -> "45 s", 1781 -> "29 min 41 s", 7260 -> "2 h 1 min". */
export function formatWait(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  if (m > 0) return s > 0 ? `${m} min ${s} s` : `${m} min`;
  return `${s} s`;
}

/**
 * Splits what a person typed into a list: items separated by spaces or new lines, as in
 * OAuth's scope parameter (RFC 6749 §3.3). Not by commas: a scope token may contain one.
 */
export function splitList(text: string): string[] {
  return text.split(/\s+/).filter((s) => s !== "");
}
