import { type AuthFailureLimits, AuthFailureThrottle } from "./auth-failure-throttle.js";
import { OAuthError } from "./errors.js";
import { TokenBuckets } from "./rate-limit.js";
import type { SharedLimits } from "./shared-limits.js";

/** Limits, all optional; 0 turns a limit off. */
export interface GuardLimits extends AuthFailureLimits {
  clientRps: number;
  clientBurst: number;
  ipRps: number;
  ipBurst: number;
  /** Tokens a client may revoke per window: each is a deny-list entry and a synchronous write. */
  revocationLimit: number;
  revocationWindowMs: number;
}

/**
 * Abuse protection for the endpoints that authenticate clients (RFC 6749 §2.3.1 asks for
 * brute-force protection): request rates per source address and per client, and throttling
 * of failed authentications per source address and client id (auth-failure-throttle.ts).
 * With `shared`, the failure throttle and the revocation cap hold for every process on the
 * database together; the request rates stay per process (they protect the process itself).
 */
export class RequestGuard {
  readonly #ip: TokenBuckets | undefined;
  readonly #client: TokenBuckets | undefined;
  readonly #failures: AuthFailureThrottle;
  readonly #revocations: TokenBuckets | undefined;
  readonly #shared: SharedLimits | undefined;

  constructor(limits: GuardLimits, shared?: SharedLimits) {
    this.#ip = limits.ipRps > 0 ? new TokenBuckets(limits.ipRps, limits.ipBurst) : undefined;
    this.#client = limits.clientRps > 0 ? new TokenBuckets(limits.clientRps, limits.clientBurst) : undefined;
    this.#failures = new AuthFailureThrottle(limits, shared);
    this.#revocations =
      limits.revocationLimit > 0
        ? new TokenBuckets((limits.revocationLimit * 1000) / limits.revocationWindowMs, limits.revocationLimit)
        : undefined;
    this.#shared = shared;
    if (this.#revocations) shared?.register("revocations", this.#revocations);
  }

  /** Counts a request from `origin`; throws temporarily_unavailable when over the address limit. */
  admitAddress(origin: string | undefined, now: number): void {
    if (this.#ip && origin !== undefined) refuse(this.#ip.take(origin, now), "address");
  }

  /** Throws when `origin` is throttled for `clientId` after failed authentications (checked before authenticating). */
  checkFailures(clientId: string, origin: string | undefined, now: number): void {
    this.#failures.check(clientId, origin, now);
  }

  /**
   * Records a failed authentication from `origin` for the presented `clientId`. With a shared
   * store, returns its write (never rejecting), for the caller to await before answering.
   */
  recordFailure(clientId: string, origin: string | undefined, now: number): Promise<unknown> | undefined {
    return this.#failures.record(clientId, origin, now);
  }

  /**
   * Counts a revocation about to be stored for `clientId`; throws temporarily_unavailable when
   * the client is over its limit. Bounds how fast any one client can grow the deny-list. With a
   * shared store, returns a promise that rejects the same way when the client is over the limit
   * counted over every process (the revocation is a database write anyway).
   */
  admitRevocation(clientId: string, now: number): Promise<void> | undefined {
    const buckets = this.#revocations;
    if (!buckets) return undefined;
    refuse(buckets.take(clientId, now), "revocations", "Too many revocations by this client");
    return this.#shared?.take([{ group: "revocations", key: clientId }], now).then((taken) => {
      // The shared bucket had no token: the merged local one now says how long to wait.
      if (taken?.[0] === false) refuse(Math.max(1, buckets.waitFor(clientId, now)), "revocations", "Too many revocations by this client");
    });
  }

  /** Counts a request by an authenticated client; throws when over the per-client limit. */
  admitClient(clientId: string, now: number): void {
    if (this.#client) refuse(this.#client.take(clientId, now), "client");
  }
}

function refuse(waitMs: number, limit: "client" | "address" | "revocations", what = "Too many requests"): void {
  if (waitMs <= 0) return;
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  throw new OAuthError("temporarily_unavailable", `${what}; retry in ${seconds}s`, undefined, seconds, limit);
}
