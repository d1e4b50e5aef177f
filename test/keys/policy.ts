import type { SigningAlg } from "../../src/core/signing-algs.js";
import type { KeyPolicy } from "../../src/keys/key-lifecycle.js";

/** One minute in ms. */
export const MINUTE = 60_000;
/** One hour in ms. */
export const HOUR = 60 * MINUTE;
/** One day in ms. */
export const DAY = 24 * HOUR;

/**
 * The policy src/compose/keys.ts keyPolicy() derives from the default config: rotate every 30 days,
 * prepublish for two 15-minute JWKS cache lifetimes, keep retired keys for the longest token
 * lifetime (24 h) plus 5 minutes of clock skew.
 */
export function testPolicy(alg: SigningAlg = "ES256", overrides: Partial<KeyPolicy> = {}): KeyPolicy {
  return { alg, rotationPeriodMs: 30 * DAY, prepublishMs: 30 * MINUTE, retiredPublishMs: DAY + 5 * MINUTE, ...overrides };
}
