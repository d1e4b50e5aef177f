import type { ClientRecord, ScopeCutoff, ScopeRemoval } from "../core/ports/storage.js";

/** The shared empty list of scope cut-offs (read-only, so every client without any can hold it). */
export const NO_SCOPE_CUTOFFS: readonly ScopeCutoff[] = Object.freeze([]);

/**
 * The scope cut-offs of `current` after its scopes become `scopes`: each scope it held that the
 * new list lacks gets `removal.notBefore` (or keeps a later cut-off it already had), and
 * cut-offs at or before `removal.forgetBefore` are dropped. Every adapter applies this inside
 * the transaction that changes the scopes, so concurrent changes cannot lose a cut-off.
 */
export function nextScopeCutoffs(current: ClientRecord, scopes: readonly string[], removal: ScopeRemoval): readonly ScopeCutoff[] {
  const cutoffs = new Map<string, number>();
  for (const c of current.scopeCutoffs) if (c.notBefore > removal.forgetBefore) cutoffs.set(c.scope, c.notBefore);
  const kept = new Set(scopes);
  for (const s of current.scopes) {
    if (!kept.has(s)) cutoffs.set(s, Math.max(cutoffs.get(s) ?? 0, removal.notBefore));
  }
  if (cutoffs.size === 0) return NO_SCOPE_CUTOFFS;
  return [...cutoffs].map(([scope, notBefore]) => ({ scope, notBefore }));
}
