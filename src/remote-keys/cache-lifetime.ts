/** Bounds on how long fetched keys are kept fresh, whatever Cache-Control says. */
export interface CacheBounds {
  minMs: number;
  maxMs: number;
  /** Without a max-age. */
  defaultMs: number;
}

/**
 * How long a fetched key set stays fresh: its Cache-Control max-age (RFC 9111 §5.2.2.1), within
 * the bounds: never below `minMs` (no-store, no-cache and max-age=0 included: a server that
 * forbids caching would otherwise be asked on every request), never above `maxMs` (a removed
 * key must stop working within it), `defaultMs` without a max-age.
 */
export function cacheLifetimeMs(cacheControl: string | undefined, bounds: CacheBounds): number {
  if (cacheControl === undefined) return bounds.defaultMs;
  const directives = cacheControl
    .toLowerCase()
    .split(",")
    .map((d) => d.trim());
  if (directives.includes("no-store") || directives.includes("no-cache")) return bounds.minMs;
  const maxAge = directives.map((d) => /^max-age\s*=\s*"?(\d{1,10})"?$/.exec(d)?.[1]).find((v) => v !== undefined);
  if (maxAge === undefined) return bounds.defaultMs;
  return Math.min(bounds.maxMs, Math.max(bounds.minMs, Number(maxAge) * 1000));
}
