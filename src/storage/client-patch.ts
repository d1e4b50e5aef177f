import { ClientCredentialConflictError, type ClientPatch, type ClientRecord } from "../core/ports/storage.js";
import { nextScopeCutoffs } from "./scope-cutoffs.js";

/**
 * The client `patch` makes of `current` at `now`: given fields replace, absent or undefined ones
 * stay, and scopes taken away with a `scopeRemoval` get their cut-offs. Adapters call it inside
 * the transaction that writes the result, on the client read in that transaction.
 */
export function applyClientPatch(current: ClientRecord, patch: ClientPatch, now: number): ClientRecord {
  const { scopeRemoval, addKey, removeKid, addFederatedCredential, removeFederatedCredentialId, ...fields } = patch;
  const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<ClientRecord>;
  const next = { ...current, ...defined, updateTime: now };
  if (patch.scopes !== undefined && scopeRemoval) next.scopeCutoffs = nextScopeCutoffs(current, patch.scopes, scopeRemoval);
  applyCredentialChanges(next, patch);
  // Leaving client_secret deletes the secrets: a method the client is no longer registered for
  // must not come back with its old credentials if the method is set again later.
  if (next.authMethod !== "client_secret") next.secrets = [];
  return next;
}

/** Keys, jwks_uri and federated credentials: checked here, inside the transaction, so concurrent changes cannot both pass. */
function applyCredentialChanges(next: ClientRecord, patch: ClientPatch): void {
  if (patch.removeKid !== undefined) next.keys = next.keys.filter((k) => k.kid !== patch.removeKid);
  if (patch.addKey !== undefined) {
    const kid = patch.addKey.kid;
    if (next.keys.some((k) => k.kid === kid))
      throw new ClientCredentialConflictError(`the client already has a key with kid ${JSON.stringify(kid)}`);
    next.keys = [...next.keys, patch.addKey];
  }
  if (next.jwksUri !== null && next.keys.length > 0) {
    throw new ClientCredentialConflictError(
      "a client registers either keys or a jwks_uri, not both: remove its keys before setting a jwks_uri, or clear the jwks_uri before adding keys",
    );
  }
  const removeId = patch.removeFederatedCredentialId;
  if (removeId !== undefined) next.federatedCredentials = next.federatedCredentials.filter((f) => f.credentialId !== removeId);
  const add = patch.addFederatedCredential;
  if (add !== undefined) {
    const same = next.federatedCredentials.find((f) => f.issuer === add.issuer && f.subject === add.subject);
    if (same) {
      throw new ClientCredentialConflictError(
        `the client already has the federated credential ${same.credentialId} for this issuer and subject`,
      );
    }
    next.federatedCredentials = [...next.federatedCredentials, add];
  }
}
