import type { ClientRecord } from "./ports/storage.js";

// Cut-offs make a client's tokens issued until some moment inactive. Token `iat` has whole
// seconds, so a cut-off is the next whole second after that moment, and a token issued after a
// cut-off in that same second gets an `iat` of at least the cut-off (at most one second ahead
// of the clock): then every token issued before a cut-off has an earlier `iat`, and every token
// issued after it has a later or equal one. Issuance and the checks below use the same rules.

/** The cut-off for tokens issued until `now` when nothing else was cut off this second: the next whole second. */
export function tokenCutoff(now: number): number {
  return (Math.floor(now / 1000) + 1) * 1000;
}

/**
 * The cut-off that ends every token `client` may have been issued until `now`. Normally the
 * next whole second; after another cut-off in this same second, tokens issued since then carry
 * that cut-off as `iat`, so this one must lie past it.
 */
export function cutoffAfter(client: ClientRecord, now: number): number {
  let latest = client.tokensNotBefore ?? 0;
  for (const c of client.scopeCutoffs) if (c.notBefore > latest) latest = c.notBefore;
  return Math.max(tokenCutoff(now), latest + 1000);
}

/** The `iat` (seconds) of a token issued now to `client` carrying `scopes`: never before a cut-off that applies to it. */
export function issuedAt(client: ClientRecord, scopes: readonly string[], now: number): number {
  let notBefore = client.tokensNotBefore ?? 0;
  // Usually empty: no work on the hot path unless a scope was taken away recently.
  for (const c of client.scopeCutoffs) {
    if (c.notBefore > notBefore && scopes.includes(c.scope)) notBefore = c.notBefore;
  }
  return Math.max(Math.floor(now / 1000), notBefore / 1000);
}

/**
 * Whether a token issued at `iat` (seconds) carrying `scopes` is cut off for `client`: issued
 * before the client was created (a deleted client with the same id), before its cut-off, or
 * before one of its scopes was taken away (even if the client holds that scope again).
 */
export function isCutOff(client: ClientRecord, iat: number, scopes: readonly string[]): boolean {
  if (iat < Math.floor(client.createTime / 1000)) return true;
  if (client.tokensNotBefore !== null && iat * 1000 < client.tokensNotBefore) return true;
  for (const c of client.scopeCutoffs) {
    if (iat * 1000 < c.notBefore && scopes.includes(c.scope)) return true;
  }
  return false;
}
