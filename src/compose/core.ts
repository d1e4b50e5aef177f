import type { Config } from "../config.js";
import type { AdminAuthDeps } from "../core/admin-auth.js";
import { ClientAdminCore } from "../core/client-admin.js";
import type { Clock } from "../core/clock.js";
import type { IntrospectDeps } from "../core/introspect-token.js";
import type { IssueTokenDeps } from "../core/issue-token.js";
import type { PublicJwk } from "../core/ports/signing-keys.js";
import type { Storage } from "../core/ports/storage.js";
import { RequestGuard } from "../core/request-guard.js";
import { SecretUseTracker } from "../core/secret-use.js";
import type { SharedLimits } from "../core/shared-limits.js";
import type { KeyRing } from "../keys/key-ring.js";

/** The core as every door uses it: its functions' dependencies, the admin core, and the published keys. */
export interface CoreParts extends IssueTokenDeps, IntrospectDeps, AdminAuthDeps {
  secretUse: SecretUseTracker;
  clientAdmin: ClientAdminCore;
  /** The key ring, seen by the core as signer and published keys; KeyAdmin manages it. */
  keys: KeyRing;
  publicKeys: () => { keys: PublicJwk[] };
  /** Algorithms of the published keys, for the metadata document. */
  signingAlgs: () => string[];
}

/**
 * The core's dependencies, from the storage requests use, the keys and the clock; `shared`
 * makes the failure throttle and the revocation cap count over every replica.
 */
export function composeCore(config: Config, storage: Storage, keys: KeyRing, clock: Clock, shared?: SharedLimits): CoreParts {
  return {
    storage,
    clock,
    issuer: config.issuer,
    secretUse: new SecretUseTracker(),
    guard: new RequestGuard(config, shared),
    signer: keys,
    keys,
    jwks: () => keys.jwks,
    publicKeys: () => keys.jwks,
    signingAlgs: () => [...new Set(keys.jwks.keys.map((k) => k.alg))],
    clientAdmin: new ClientAdminCore(storage, clock),
  };
}
