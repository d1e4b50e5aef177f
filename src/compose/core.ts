import { readFileSync } from "node:fs";
import tls from "node:tls";
import type { Config } from "../config.js";
import type { AdminAuthDeps } from "../core/admin-auth.js";
import { ClientAdminCore } from "../core/client-admin.js";
import type { AssertionDeps } from "../core/client-auth/assertion-deps.js";
import { ImportedKeys } from "../core/client-auth/imported-keys.js";
import { ClientCredentialAdmin } from "../core/client-credential-admin.js";
import type { Clock } from "../core/clock.js";
import { FederatedUseTracker } from "../core/federated-use.js";
import type { IntrospectDeps } from "../core/introspect-token.js";
import type { IssueTokenDeps } from "../core/issue-token.js";
import type { PublicJwk } from "../core/ports/signing-keys.js";
import type { Storage } from "../core/ports/storage.js";
import { RequestGuard } from "../core/request-guard.js";
import { SecretUseTracker } from "../core/secret-use.js";
import type { SharedLimits } from "../core/shared-limits.js";
import type { KeyRing } from "../keys/key-ring.js";
import { DEFAULT_KEY_SET_POLICY, RemoteKeySetCache } from "../remote-keys/remote-key-sets.js";

/** The core as every door uses it: its functions' dependencies, the admin core, and the published keys. */
export interface CoreParts extends IssueTokenDeps, IntrospectDeps, AdminAuthDeps {
  secretUse: SecretUseTracker;
  federatedUse: FederatedUseTracker;
  assertions: AssertionDeps;
  clientAdmin: ClientAdminCore;
  clientCredentials: ClientCredentialAdmin;
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
  const federatedUse = new FederatedUseTracker();
  const allowHttpLoopback = config.allowInsecureJwksUriLoopback;
  const assertions: AssertionDeps = {
    issuer: config.issuer,
    keySets: new RemoteKeySetCache(clock, { ...DEFAULT_KEY_SET_POLICY, allowHttpLoopback, ca: keyFetchCa(config) }),
    maxLifetimeSeconds: Math.round(config.maxAssertionLifetimeMs / 1000),
    importedKeys: new ImportedKeys(),
    federatedUse,
  };
  return {
    storage,
    clock,
    issuer: config.issuer,
    secretUse: new SecretUseTracker(),
    federatedUse,
    assertions,
    guard: new RequestGuard(config, shared),
    signer: keys,
    keys,
    jwks: () => keys.jwks,
    publicKeys: () => keys.jwks,
    signingAlgs: () => [...new Set(keys.jwks.keys.map((k) => k.alg))],
    clientAdmin: new ClientAdminCore(storage, clock, { allowHttpLoopback }),
    clientCredentials: new ClientCredentialAdmin(storage, clock, config.issuer, allowHttpLoopback),
  };
}

/** The extra CA certificates key fetches trust, besides Node's own (and NODE_EXTRA_CA_CERTS). */
function keyFetchCa(config: Config): string | undefined {
  if (config.jwksCaFile === undefined) return undefined;
  // `ca` replaces Node's list for a request: keep the usual public CAs too.
  return [...tls.rootCertificates, readFileSync(config.jwksCaFile, "utf8")].join("\n");
}
