import type { Config } from "../config.js";
import { MAX_TOKEN_TTL_SECONDS } from "../core/client-admin.js";
import type { Clock } from "../core/clock.js";
import type { Storage } from "../core/ports/storage.js";
import type { KeyPolicy } from "../keys/key-lifecycle.js";
import { KeyRing } from "../keys/key-ring.js";

/** Clock skew allowed to verifiers: retired keys and deny-list entries outlive tokens by this. */
export const CLOCK_SKEW_MS = 5 * 60_000;

/** The key schedule the configuration asks for. */
export function keyPolicy(config: Config): KeyPolicy {
  return {
    alg: config.alg,
    rotationPeriodMs: config.keyRotationPeriodMs,
    // At least one JWKS cache lifetime; twice, so a verifier that fetched just before the
    // next key appeared still refreshes in time.
    prepublishMs: 2 * config.jwksMaxAgeMs,
    retiredPublishMs: MAX_TOKEN_TTL_SECONDS * 1000 + CLOCK_SKEW_MS,
  };
}

/** The signing keys, loaded (and created, rotated or wrapped as the policy says) from the database. */
export function openKeys(config: Config, database: Storage, clock: Clock): Promise<KeyRing> {
  return KeyRing.open(database, { policy: keyPolicy(config), clock, kek: config.kek });
}
