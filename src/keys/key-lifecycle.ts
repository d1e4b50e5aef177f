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
  generate: KeyGenerator,
  request: RotationRequest = { rotate: false, force: false },
): SigningKeyPlan<KeyPlanResult> {
  const plan = new PlanBuilder(keys);
  const ready = ensureCurrentAndNext(keys, plan, now, policy, generate);
  const { current, rotated } = rotateIfAsked(plan, ready, now, policy, generate, request);
  for (const k of keys) {
    if (k.status === "retired" && (k.retireTime ?? 0) + policy.retiredPublishMs <= now) plan.remove.push(k.kid);
  }
  return { upsert: [...plan.changed.values()], remove: plan.remove, result: { rotated, current, withdrawn: plan.withdrawn } };
}

/** Makes a fresh key record of `alg` (planKeys stays pure: the caller generates). */
type KeyGenerator = (alg: SigningAlg, status: "current" | "next", now: number) => SigningKeyRecord;

/** The changes planned so far. */
class PlanBuilder {
  readonly changed = new Map<string, SigningKeyRecord>();
  readonly remove: string[] = [];
  readonly withdrawn: string[] = [];

  constructor(private readonly stored: readonly SigningKeyRecord[]) {}

  /** Inserts or replaces `k`. */
  put(k: SigningKeyRecord): void {
    this.changed.set(k.kid, k);
  }

  /** Takes `k` out of use at once: deleted if stored, never stored if planned this round. */
  withdraw(k: SigningKeyRecord): void {
    this.changed.delete(k.kid);
    if (this.stored.some((s) => s.kid === k.kid)) {
      this.remove.push(k.kid);
      this.withdrawn.push(k.kid);
    }
  }
}

/** A current key and a next one with the configured algorithm, creating or promoting what is missing. */
function ensureCurrentAndNext(
  keys: readonly SigningKeyRecord[],
  plan: PlanBuilder,
  now: number,
  policy: KeyPolicy,
  generate: KeyGenerator,
): { current: SigningKeyRecord; next: SigningKeyRecord } {
  let current = keys.find((k) => k.status === "current");
  let next = keys.find((k) => k.status === "next");
  if (!current) {
    // Nothing signs yet (a new database): no verifier can have cached anything, so a key may
    // sign at once.
    current = next ? { ...next, status: "current", activateTime: now } : generate(policy.alg, "current", now);
    plan.put(current);
    next = undefined;
  }
  if (next && next.alg !== policy.alg) {
    // The configured algorithm changed: the next key is not signing yet, so replace it.
    plan.remove.push(next.kid);
    next = undefined;
  }
  if (!next) {
    next = generate(policy.alg, "next", now);
    plan.put(next);
  }
  return { current, next };
}

/** Rotates when the schedule or the caller asks; a forced rotation withdraws both keys (see planKeys). */
function rotateIfAsked(
  plan: PlanBuilder,
  keys: { current: SigningKeyRecord; next: SigningKeyRecord },
  now: number,
  policy: KeyPolicy,
  generate: KeyGenerator,
  request: RotationRequest,
): { current: SigningKeyRecord; rotated: boolean } {
  const { current, next } = keys;
  const due = (current.activateTime ?? current.createTime) + policy.rotationPeriodMs <= now;
  if (request.rotate && request.force) {
    plan.withdraw(current);
    plan.withdraw(next);
    const fresh = generate(policy.alg, "current", now);
    plan.put(fresh);
    plan.put(generate(policy.alg, "next", now));
    return { current: fresh, rotated: true };
  }
  if (!request.rotate && !due) return { current, rotated: false };
  const readyAt = next.createTime + policy.prepublishMs;
  if (readyAt <= now || request.force) {
    plan.put({ ...current, status: "retired", retireTime: now });
    const promoted: SigningKeyRecord = { ...next, status: "current", activateTime: now };
    plan.put(promoted);
    plan.put(generate(policy.alg, "next", now));
    return { current: promoted, rotated: true };
  }
  if (request.rotate) throw new RotationTooSoonError(readyAt - now);
  return { current, rotated: false };
}
