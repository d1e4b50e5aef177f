import { OAuthError } from "./errors.js";
import { TokenBuckets } from "./rate-limit.js";
import type { SharedBucketRef, SharedLimits } from "./shared-limits.js";

/** How many failed authentications are allowed before throttling; 0 turns a limit off. */
export interface AuthFailureLimits {
  /** Per client id as presented, from one source address, per window. */
  authFailureLimit: number;
  /** Per source address, whatever the client ids, per window. */
  authFailureAddressLimit: number;
  authFailureWindowMs: number;
}

// Longer ids cannot exist (they are validated on create); a longer key buys an attacker nothing.
const MAX_ID = 128;

/**
 * Throttles failed client authentication (RFC 6749 §2.3.1 asks for brute-force protection)
 * without handing anyone a way to lock a client out. Client ids are public, and secrets are
 * 256-bit random, so guessing is hopeless anyway; what must never happen is that failures
 * caused by one party refuse the right secret presented by another. So failures are counted
 * per pair of source address and client id as presented: once a pair is over its limit, that
 * address gets 429 for that id (the right secret included, or the throttle would tell a guess
 * from a hit), while the same id from any other address authenticates as usual. A coarser
 * count per address bounds how many ids one address may try. Known and unknown ids are keyed
 * and answered alike, so the answers reveal nothing. With `shared`, failures count for every
 * process on the database (shared-limits.ts): N replicas do not allow N times the attempts.
 */
export class AuthFailureThrottle {
  readonly #pairs: TokenBuckets | undefined;
  // Every address that failed (the last 100,000 of them) has a bucket here, even with the
  // address limit off (then one that never runs dry): a request from any other address, which
  // is almost every request, costs one lookup and no allocation.
  readonly #addresses: TokenBuckets | undefined;
  readonly #addressLimited: boolean;
  readonly #shared: SharedLimits | undefined;

  constructor(limits: AuthFailureLimits, shared?: SharedLimits) {
    const perWindow = (n: number) => new TokenBuckets((n * 1000) / limits.authFailureWindowMs, n);
    this.#pairs = limits.authFailureLimit > 0 ? perWindow(limits.authFailureLimit) : undefined;
    this.#addressLimited = limits.authFailureAddressLimit > 0;
    this.#addresses = this.#addressLimited
      ? perWindow(limits.authFailureAddressLimit)
      : this.#pairs
        ? new TokenBuckets(1, Number.MAX_SAFE_INTEGER)
        : undefined;
    this.#shared = shared;
    // The address buckets are shared even when unlimited: they mark whom to check at all.
    if (this.#addresses) shared?.register("auth-address", this.#addresses);
    if (this.#pairs) shared?.register("auth-pair", this.#pairs);
  }

  /** Throws temporarily_unavailable when `origin` may not try `clientId` now (checked before authenticating). */
  check(clientId: string, origin: string | undefined, now: number): void {
    const address = origin ?? "";
    if (!this.#addresses?.has(address)) return;
    if (this.#addressLimited) {
      const wait = this.#addresses.waitFor(address, now);
      if (wait > 0) throw refusal(wait, "auth_failures_address", "Too many failed authentication attempts from this address");
    }
    if (this.#pairs) {
      const wait = this.#pairs.waitFor(pairKey(address, clientId), now);
      if (wait > 0) throw refusal(wait, "auth_failures", "Too many failed authentication attempts for this client from this address");
    }
  }

  /**
   * Records that `origin` failed to authenticate as `clientId`. With a shared store, returns
   * the write of the failure there (never rejecting), which the caller awaits before answering,
   * so that this process knows every replica's count for the pair when it next checks it.
   */
  record(clientId: string, origin: string | undefined, now: number): Promise<unknown> | undefined {
    const address = origin ?? "";
    const pair = pairKey(address, clientId);
    this.#addresses?.take(address, now);
    this.#pairs?.take(pair, now);
    if (!this.#shared) return undefined;
    const refs: SharedBucketRef[] = [];
    if (this.#addresses) refs.push({ group: "auth-address", key: address });
    if (this.#pairs) refs.push({ group: "auth-pair", key: pair });
    return refs.length === 0 ? undefined : this.#shared.take(refs, now);
  }
}

// Addresses hold no spaces, so the first space separates the two parts unambiguously.
function pairKey(address: string, clientId: string): string {
  return `${address} ${clientId.length > MAX_ID ? clientId.slice(0, MAX_ID) : clientId}`;
}

function refusal(waitMs: number, limit: "auth_failures" | "auth_failures_address", what: string): OAuthError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  // RFC 6749 §5.2 character set: printable ASCII, no double quote or backslash.
  return new OAuthError("temporarily_unavailable", `${what}; retry in ${seconds}s`, undefined, seconds, limit);
}
