import type { FederatedUseTracker } from "../federated-use.js";
import type { RemoteKeySets } from "../ports/key-sets.js";
import type { ImportedKeys } from "./imported-keys.js";

/** What checking client assertions (private_key_jwt and federated platform tokens) needs. */
export interface AssertionDeps {
  /** Our issuer identifier: the one audience a private_key_jwt assertion may name. */
  issuer: string;
  /** Keys published at a jwks_uri or found through OpenID discovery. */
  keySets: RemoteKeySets;
  /** Longest private_key_jwt lifetime accepted (exp - iat, or exp - now when iat is absent), seconds. */
  maxLifetimeSeconds: number;
  /** Imported verification keys, kept so a key is parsed once, not per request. */
  importedKeys: ImportedKeys;
  /** Records tokens issued to federated workloads for the audit trail; none when absent. */
  federatedUse?: FederatedUseTracker | undefined;
}
