import type { ClientRecord, Storage } from "../core/ports/storage.js";
import { type PackedClient, packClient, recordUseInPacked, unpackClient } from "./packed-client.js";

/** Default number of cached clients (about 0.5 KB each, packed). */
const CLIENT_CACHE_ENTRIES = 100_000;

/**
 * A bounded map that evicts a random entry when full. Least-recently-used (or oldest-first)
 * eviction misses on every request once clients take turns in a cycle longer than the cache
 * (101,000 busy clients and a 100,000-entry cache: each client is evicted just before its next
 * turn); random replacement keeps almost all of them. O(1) per operation: keys also live in
 * an array, and a deleted key's slot is filled by the last one.
 */
export class RandomReplacementMap<V> {
  readonly #entries = new Map<string, { value: V; slot: number }>();
  readonly #keys: string[] = [];

  constructor(
    readonly maxEntries: number,
    private readonly random: () => number = Math.random,
  ) {}

  get size(): number {
    return this.#keys.length;
  }

  get(key: string): V | undefined {
    return this.#entries.get(key)?.value;
  }

  set(key: string, value: V): void {
    const e = this.#entries.get(key);
    if (e) {
      e.value = value;
      return;
    }
    if (this.maxEntries <= 0) return;
    // random() is in [0, 1): the index is one of #keys'.
    const victim = this.#keys.length >= this.maxEntries ? this.#keys[Math.floor(this.random() * this.#keys.length)] : undefined;
    if (victim !== undefined) this.delete(victim);
    this.#entries.set(key, { value, slot: this.#keys.length });
    this.#keys.push(key);
  }

  delete(key: string): void {
    const e = this.#entries.get(key);
    if (!e) return;
    this.#entries.delete(key);
    // The last key fills the deleted one's slot (every entry has one, so #keys is not empty).
    const last = this.#keys.pop();
    const moved = last === undefined || last === key ? undefined : this.#entries.get(last);
    if (last !== undefined && moved) {
      this.#keys[e.slot] = last;
      moved.slot = e.slot;
    }
  }

  clear(): void {
    this.#entries.clear();
    this.#keys.length = 0;
  }

  *values(): IterableIterator<V> {
    for (const e of this.#entries.values()) yield e.value;
  }
}

/**
 * What tells the cache whether its clients are still current, read synchronously on every
 * request (change-feed.ts): a generation that moves when another process changed the
 * database, and a check that refuses once the database has been out of reach too long.
 */
export interface CacheFreshness {
  readonly generation: number;
  /** Throws StorageUnavailableError when cached records may no longer be served. */
  assertFresh(): void;
}

/**
 * Wraps a Storage with an in-memory cache of clients, the one read on every token request.
 * Writes through this wrapper drop what they change at once; writes by other processes move
 * `freshness.generation` (a background poll of the change token), which empties the cache.
 * So a client created, changed or disabled anywhere is honoured within one poll, and a token
 * request for a cached client touches no database at all. Unknown ids are not cached (no
 * cache flooding). At most `maxEntries` clients are kept (0: no cache), evicted at random
 * when full.
 */
export function withClientCache(storage: Storage, freshness: CacheFreshness, maxEntries = CLIENT_CACHE_ENTRIES): Storage {
  const cached = new CachedClients(storage, freshness, maxEntries);
  const dropping =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>, id: (...args: A) => string | undefined) =>
    async (...args: A): Promise<R> => {
      try {
        return await fn.apply(storage, args);
      } finally {
        cached.drop(id(...args));
      }
    };
  return withOverrides(storage, {
    getClient: (clientId) => cached.get(clientId),
    createClient: dropping(storage.createClient, (c) => c.clientId),
    updateClient: dropping(storage.updateClient, (id) => id),
    deleteClient: dropping(storage.deleteClient, (id) => id),
    rotateSecret: dropping(storage.rotateSecret, (id) => id),
    async recordSecretUse(uses) {
      await storage.recordSecretUse(uses);
      cached.recordUses(uses);
    },
  });
}

/** The cached clients and what tells whether they are still current. */
class CachedClients {
  // Clients are kept packed (packed-client.ts: few objects for the GC to trace); a record the
  // packed form cannot hold exactly is kept as a plain copy.
  readonly #cache: RandomReplacementMap<PackedClient | ClientRecord>;
  /** The freshness generation the cache's contents belong to. */
  #seen: number;
  // Bumped by every change and every emptying: a read that raced with one is not cached.
  #generation = 0;

  constructor(
    private readonly storage: Storage,
    private readonly freshness: CacheFreshness,
    maxEntries: number,
  ) {
    this.#cache = new RandomReplacementMap(maxEntries);
    this.#seen = freshness.generation;
  }

  /** The client, from the cache when it is there and still current; a copy the caller owns. */
  async get(clientId: string): Promise<ClientRecord | undefined> {
    this.freshness.assertFresh();
    if (this.freshness.generation !== this.#seen) {
      // Another process committed a change: whatever is cached may be out of date.
      this.#seen = this.freshness.generation;
      this.drop(undefined);
    }
    const hit = this.#cache.get(clientId);
    if (hit) return "nums" in hit ? unpackClient(hit) : copy(hit);
    const before = this.#generation;
    const c = await this.storage.getClient(clientId);
    if (c && this.#generation === before) this.#cache.set(clientId, packClient(c) ?? copy(c));
    return c;
  }

  /** Forgets a client this process changed (all of them when the id is unknown). */
  drop(clientId: string | undefined): void {
    this.#generation++;
    if (clientId === undefined) this.#cache.clear();
    else this.#cache.delete(clientId);
  }

  /**
   * Last-used times are shown by GetClient: the cached copies are updated in place rather than
   * emptied every flush (which would keep the cache cold with many active clients).
   */
  recordUses(uses: ReadonlyMap<string, number>): void {
    for (const c of this.#cache.values()) {
      if ("nums" in c) {
        recordUseInPacked(c, uses);
        continue;
      }
      for (const sec of c.secrets) {
        const t = uses.get(sec.secretId);
        if (t !== undefined && (sec.lastUsedTime === null || sec.lastUsedTime < t)) sec.lastUsedTime = t;
      }
    }
  }
}

/** `storage` with some methods replaced; the others are its own, bound once on first use. */
function withOverrides(storage: Storage, overrides: Partial<Storage>): Storage {
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(storage, {
    get(target, prop, receiver) {
      if (prop in overrides) return overrides[prop as keyof Storage];
      const known = bound.get(prop);
      if (known !== undefined) return known;
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== "function") return value;
      const method = (value as (...a: unknown[]) => unknown).bind(target);
      bound.set(prop, method);
      return method;
    },
  });
}

// Callers get their own copy (the Storage contract): a cheap one for the flat record of a
// secret client; keys and federated credentials are nested, and cloned whole.
function copy(c: ClientRecord): ClientRecord {
  return {
    ...c,
    scopes: [...c.scopes],
    audiences: [...c.audiences],
    secrets: c.secrets.map((s) => ({ ...s })),
    keys: c.keys.length === 0 ? [] : structuredClone(c.keys),
    federatedCredentials: c.federatedCredentials.length === 0 ? [] : structuredClone(c.federatedCredentials),
  };
}
