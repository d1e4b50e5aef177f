import type { SigningKeyPlan, SigningKeyRecord } from "../core/ports/storage.js";
import type { SigningAlg } from "../core/signing-algs.js";

/** When keys rotate and how long they stay published. All durations in ms. */
export interface KeyPolicy {
  /** Algorithm of newly generated keys. */
  alg: SigningAlg;
  /** A current key older than this is replaced by the next key. */
  rotationPeriodMs: number;
  /** A next key signs only after being published this long (at least one JWKS cache lifetime). */
  prepublishMs: number;
  /** A retired key stays published this long: the longest token lifetime plus clock skew. */
  retiredPublishMs: number;
}

/** An on-demand rotation that would sign with a key verifiers may not have fetched yet. */
export class RotationTooSoonError extends Error {
  override readonly name = "RotationTooSoonError";
  constructor(readonly waitMs: number) {
    super(
      `the next signing key has been published for less than one JWKS cache lifetime; rotate again in ${Math.ceil(waitMs / 1000)}s, or force it if the current key is compromised`,
    );
  }
}

/** What a caller asks of a planning round besides the schedule. */
export interface RotationRequest {
  rotate: boolean;
  force: boolean;
}

/** What a planning round did besides the plan itself. */
export interface KeyPlanResult {
  rotated: boolean;
  /** The key that signs after the plan is applied. */
  current: SigningKeyRecord;
  /** Keys taken out of service at once by a forced rotation (no longer published, no token of theirs accepted). */
  withdrawn: string[];
}

/**
 * Decides the key changes for time `now`: make sure a current and a next key exist (the next
 * one with the configured algorithm), rotate when the schedule or the caller asks and the next
 * key has been published long enough, and drop retired keys whose tokens have all expired.
 * A forced on-demand rotation is the answer to a compromised key: whatever exposed the current
 * private key (a copied database file, a memory dump) exposed the next one too, so both are
 * withdrawn at once and a freshly generated key signs. Tokens they signed stop being
 * accepted, by Tessera at once and by verifiers when they refetch the JWKS.
 * Pure: `generate` supplies new keys, the caller applies the plan in one transaction.
 */
export function planKeys(
  keys: SigningKeyRecord[],
  now: number,
  policy: KeyPolicy,
  generate: (alg: SigningAlg, status: "current" | "next", now: number) => SigningKeyRecord,
  request: RotationRequest = { rotate: false, force: false },
): SigningKeyPlan<KeyPlanResult> {
  const changed = new Map<string, SigningKeyRecord>();
  const remove: string[] = [];
  const withdrawn: string[] = [];
  const put = (k: SigningKeyRecord) => changed.set(k.kid, k);
  const withdraw = (k: SigningKeyRecord) => {
    changed.delete(k.kid); // one planned this round is simply never stored
    if (keys.some((stored) => stored.kid === k.kid)) {
      remove.push(k.kid);
      withdrawn.push(k.kid);
    }
  };

  let current = keys.find((k) => k.status === "current");
  let next = keys.find((k) => k.status === "next");
  if (!current) {
    // Nothing signs yet (a new database): no verifier can have cached anything, so a key may
    // sign at once.
    current = next ? { ...next, status: "current", activateTime: now } : generate(policy.alg, "current", now);
    put(current);
    next = undefined;
  }
  if (next && next.alg !== policy.alg) {
    // The configured algorithm changed: the next key is not signing yet, so replace it.
    remove.push(next.kid);
    next = undefined;
  }
  if (!next) {
    next = generate(policy.alg, "next", now);
    put(next);
  }

  let rotated = false;
  const due = (current.activateTime ?? current.createTime) + policy.rotationPeriodMs <= now;
  if (request.rotate && request.force) {
    withdraw(current);
    withdraw(next);
    current = generate(policy.alg, "current", now);
    put(current);
    put(generate(policy.alg, "next", now));
    rotated = true;
  } else if (request.rotate || due) {
    const readyAt = next.createTime + policy.prepublishMs;
    if (readyAt <= now || request.force) {
      put({ ...current, status: "retired", retireTime: now });
      current = { ...next, status: "current", activateTime: now };
      put(current);
      put(generate(policy.alg, "next", now));
      rotated = true;
    } else if (request.rotate) {
      throw new RotationTooSoonError(readyAt - now);
    }
  }

  for (const k of keys) {
    if (k.status === "retired" && (k.retireTime ?? 0) + policy.retiredPublishMs <= now) remove.push(k.kid);
  }
  return { upsert: [...changed.values()], remove, result: { rotated, current, withdrawn } };
}
