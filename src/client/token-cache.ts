import type { IssuedToken } from "./token-endpoint.js";

/** The default refresh margin: renew 5 minutes before expiry. */
export const DEFAULT_REFRESH_MARGIN_MS = 5 * 60_000;

/** Never hand out a token closer to its expiry than this: it could expire on the wire. */
const MAX_SAFETY_MS = 5_000;

/** A cached token and the moments that matter for it. */
export interface CacheEntry {
  token: IssuedToken;
  /** When the token expires (counted from when its request was sent, to be conservative). */
  expiresAt: number;
  /** From here on the token is renewed: expiresAt minus the refresh margin. */
  refreshAt: number;
  /** From here on the token is not handed out at all, not even while a renewal runs. */
  unusableAt: number;
}

/**
 * Places a token on the timeline. The margin is the configured one but never more than half
 * the lifetime, so a 60-second token is renewed after 30 s instead of never being cacheable
 * (a fixed `expires_in - 300` goes negative for it).
 */
export function cacheEntry(token: IssuedToken, sentAt: number, refreshMarginMs: number): CacheEntry {
  const lifetime = token.expiresIn * 1000;
  const expiresAt = sentAt + lifetime;
  const margin = Math.min(refreshMarginMs, lifetime / 2);
  return { token, expiresAt, refreshAt: expiresAt - margin, unusableAt: expiresAt - Math.min(MAX_SAFETY_MS, margin / 2) };
}

/** Which tokens are interchangeable: same scopes in any order, same audiences in any order. */
export function cacheKey(scope: string | undefined, audiences: readonly string[]): string {
  const scopes = [...new Set((scope ?? "").split(" ").filter((s) => s !== ""))].sort();
  return JSON.stringify([scopes, [...new Set(audiences)].sort()]);
}
