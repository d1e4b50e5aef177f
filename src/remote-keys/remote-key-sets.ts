import type { JsonWebKey } from "node:crypto";
import { type KeySetLocation, KeySetUnavailableError, type RemoteKeySets } from "../core/ports/key-sets.js";
import { type CacheBounds, cacheLifetimeMs } from "./cache-lifetime.js";
import { FetchFailedError, type FetchLimits, fetchJson } from "./fetch-json.js";
import { usableKeys } from "./usable-keys.js";

/** How fetched keys are kept and refetched. */
export interface KeySetPolicy extends FetchLimits, CacheBounds {
  /** A location is fetched at most this often outside its freshness: on an unknown kid, or after a failed fetch. */
  refetchAfterMs: number;
  /** While a location cannot be fetched, its last keys are used for this long after they went stale. */
  staleForMs: number;
}

/** The defaults: 5 s and 256 KiB per fetch, fresh 1 min to 24 h (5 min without max-age), refetch at most every 30 s, stale keys for 6 h. */
export const DEFAULT_KEY_SET_POLICY: KeySetPolicy = {
  timeoutMs: 5000,
  maxBytes: 256 * 1024,
  allowHttpLoopback: false,
  minMs: 60_000,
  maxMs: 24 * 3_600_000,
  defaultMs: 5 * 60_000,
  refetchAfterMs: 30_000,
  staleForMs: 6 * 3_600_000,
};

interface Entry {
  keys: readonly JsonWebKey[] | undefined;
  freshUntil: number;
  /** When a fetch last started, and why the last one failed (undefined: it worked). */
  attemptedAt: number;
  failure: string | undefined;
  /** When fresh keys were last fetched again for a kid they lacked. */
  kidRefetchAt: number;
  inFlight: Promise<readonly JsonWebKey[]> | undefined;
}

/**
 * Fetches and caches the keys clients and workload issuers publish (a jwks_uri, or an issuer's
 * OpenID discovery document and the JWKS it names). One fetch in flight per location; fresh
 * for the Cache-Control max-age within bounds; an unknown kid refetches at most every
 * `refetchAfterMs`; when a location cannot be fetched, its last keys serve for `staleForMs`
 * past their freshness, then requests are refused until it answers again.
 */
export class RemoteKeySetCache implements RemoteKeySets {
  readonly #entries = new Map<string, Entry>();

  constructor(
    private readonly clock: () => number,
    private readonly policy: KeySetPolicy = DEFAULT_KEY_SET_POLICY,
  ) {}

  async keys(location: KeySetLocation, kid: string | undefined): Promise<readonly JsonWebKey[]> {
    const id = location.kind === "jwks_uri" ? `jwks ${location.uri}` : `oidc ${location.issuer}`;
    const now = this.clock();
    let entry = this.#entries.get(id);
    if (entry === undefined) {
      entry = { keys: undefined, freshUntil: 0, attemptedAt: -Infinity, failure: undefined, kidRefetchAt: -Infinity, inFlight: undefined };
      this.#entries.set(id, entry);
    }
    const fresh = entry.keys !== undefined && now < entry.freshUntil;
    if (fresh && (kid === undefined || entry.keys!.some((k) => k.kid === kid))) return entry.keys!;
    if (entry.inFlight === undefined && this.#mayFetch(entry, fresh, now)) entry.inFlight = this.#fetch(location, entry, now);
    if (entry.inFlight !== undefined) {
      try {
        return await entry.inFlight;
      } catch {
        // Said below: stale keys, or the failure.
      }
    }
    return this.#fallback(entry, now);
  }

  /**
   * Fresh keys without the kid asked for are fetched again at most once per `refetchAfterMs`
   * (a client that just rotated gets its new key at once; a flood of unknown kids costs one
   * fetch per period). Missing or stale keys are fetched, but after a failed fetch not again
   * within `refetchAfterMs`: meanwhile requests get the stale keys or the failure at once.
   */
  #mayFetch(entry: Entry, fresh: boolean, now: number): boolean {
    if (fresh) {
      if (now - entry.kidRefetchAt < this.policy.refetchAfterMs) return false;
      entry.kidRefetchAt = now;
      return true;
    }
    return entry.failure === undefined || now - entry.attemptedAt >= this.policy.refetchAfterMs;
  }

  /** The keys a failed or skipped fetch leaves: fresh or not too stale ones, else the reason. */
  #fallback(entry: Entry, now: number): readonly JsonWebKey[] {
    if (entry.keys !== undefined && now < entry.freshUntil + this.policy.staleForMs) return entry.keys;
    const why = entry.failure ?? "it was fetched less than 30s ago and had no such key";
    if (entry.keys !== undefined) throw new KeySetUnavailableError(`${why}, and the keys fetched before are too old to use`);
    throw new KeySetUnavailableError(why);
  }

  async #fetch(location: KeySetLocation, entry: Entry, now: number): Promise<readonly JsonWebKey[]> {
    entry.attemptedAt = now;
    try {
      const jwksUri = location.kind === "jwks_uri" ? location.uri : await this.#discover(location.issuer);
      const fetched = await fetchJson(jwksUri, this.policy);
      const keys = usableKeys(fetched.body);
      entry.keys = keys;
      entry.freshUntil = this.clock() + cacheLifetimeMs(fetched.cacheControl, this.policy);
      entry.failure = undefined;
      return keys;
    } catch (err) {
      if (!(err instanceof FetchFailedError)) throw err;
      entry.failure = err.message;
      throw err;
    } finally {
      entry.inFlight = undefined;
    }
  }

  /** The jwks_uri of `issuer`'s OpenID discovery document, whose issuer must be exactly `issuer` (OpenID Connect Discovery §4.3). */
  async #discover(issuer: string): Promise<string> {
    const url = `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
    const { body } = await fetchJson(url, this.policy).catch((err: unknown) => {
      throw err instanceof FetchFailedError ? new FetchFailedError(`its discovery document ${url}: ${err.message}`) : err;
    });
    const doc = (typeof body === "object" && body !== null ? body : {}) as { issuer?: unknown; jwks_uri?: unknown };
    if (doc.issuer !== issuer) throw new FetchFailedError(`its discovery document ${url} names another issuer`);
    if (typeof doc.jwks_uri !== "string") throw new FetchFailedError(`its discovery document ${url} has no jwks_uri`);
    return doc.jwks_uri;
  }
}
