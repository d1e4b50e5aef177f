import { OAuthError } from "./errors.js";
import { TokenBuckets } from "./rate-limit.js";

/** Limits, all optional; 0 turns a limit off. */
export interface GuardLimits {
  clientRps: number;
  clientBurst: number;
  ipRps: number;
  ipBurst: number;
  /** Failed authentications per client id per window before that id is throttled. */
  authFailureLimit: number;
  authFailureWindowMs: number;
}

const MAX_KEY = 128;

/**
 * Abuse protection for the endpoints that authenticate clients (RFC 6749 §2.3.1 asks for
 * brute-force protection): request rates per source address and per client, and throttling
 * of a client id after repeated failed authentications. Keys are the id as presented, so an
 * unknown id is throttled exactly like a real one and the answer reveals nothing.
 */
export class RequestGuard {
  readonly #ip: TokenBuckets | undefined;
  readonly #client: TokenBuckets | undefined;
  readonly #failures: TokenBuckets | undefined;

  constructor(limits: GuardLimits) {
    this.#ip = limits.ipRps > 0 ? new TokenBuckets(limits.ipRps, limits.ipBurst) : undefined;
    this.#client = limits.clientRps > 0 ? new TokenBuckets(limits.clientRps, limits.clientBurst) : undefined;
    this.#failures =
      limits.authFailureLimit > 0
        ? new TokenBuckets((limits.authFailureLimit * 1000) / limits.authFailureWindowMs, limits.authFailureLimit)
        : undefined;
  }

  /** Counts a request from `origin`; throws temporarily_unavailable when over the address limit. */
  admitAddress(origin: string | undefined, now: number): void {
    if (this.#ip && origin !== undefined) refuse(this.#ip.take(origin, now), "address");
  }

  /** Throws when `clientId` is throttled after failed authentications (checked before authenticating). */
  checkFailures(clientId: string, now: number): void {
    if (this.#failures) refuse(this.#failures.waitFor(clientId.slice(0, MAX_KEY), now), "auth_failures");
  }

  /** Records a failed authentication for the presented `clientId`. */
  recordFailure(clientId: string, now: number): void {
    this.#failures?.take(clientId.slice(0, MAX_KEY), now);
  }

  /** Counts a request by an authenticated client; throws when over the per-client limit. */
  admitClient(clientId: string, now: number): void {
    if (this.#client) refuse(this.#client.take(clientId, now), "client");
  }
}

function refuse(waitMs: number, limit: "client" | "address" | "auth_failures"): void {
  if (waitMs <= 0) return;
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  throw new OAuthError("temporarily_unavailable", `Too many requests; retry in ${seconds}s`, undefined, seconds, limit);
}
