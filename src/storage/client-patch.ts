import { nextScopeCutoffs } from "./scope-cutoffs.js";
import type { ClientPatch, ClientRecord } from "../core/ports/storage.js";

/**
 * The client `patch` makes of `current` at `now`: given fields replace, absent or undefined ones
 * stay, and scopes taken away with a `scopeRemoval` get their cut-offs. Adapters call it inside
 * the transaction that writes the result, on the client read in that transaction.
 */
export function applyClientPatch(current: ClientRecord, patch: ClientPatch, now: number): ClientRecord {
  const { scopeRemoval, ...fields } = patch;
  const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<ClientRecord>;
  const next = { ...current, ...defined, updateTime: now };
  if (patch.scopes !== undefined && scopeRemoval) next.scopeCutoffs = nextScopeCutoffs(current, patch.scopes, scopeRemoval);
  return next;
}
