/**
 * RFC 9110 §10.2.3: Retry-After is delay-seconds or an HTTP-date; the wait in milliseconds,
 * or undefined when absent or unreadable. gRPC servers (Tessera among them) send the same
 * value as a `retry-after` trailer.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
