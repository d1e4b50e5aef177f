import { packClient, recordUseInPacked, unpackClient, type PackedClient } from "./packed-client.js";
import type { ClientRecord, Storage } from "../core/ports/storage.js";

/** How stale a cached client may get when another process changes it. */
export const CLIENT_CACHE_CHECK_MS = 250;

/** Default number of cached clients (about 0.5 KB each, packed). */
export const CLIENT_CACHE_ENTRIES = 100_000;

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
    if (this.#keys.length >= this.maxEntries) this.delete(this.#keys[Math.floor(this.random() * this.#keys.length)]!);
    this.#entries.set(key, { value, slot: this.#keys.length });
    this.#keys.push(key);
  }

  delete(key: string): void {
    const e = this.#entries.get(key);
    if (!e) return;
    this.#entries.delete(key);
    const last = this.#keys.pop()!;
    if (last !== key) {
      this.#keys[e.slot] = last;
      this.#entries.get(last)!.slot = e.slot;
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
 * Wraps a Storage with an in-memory cache of clients, the one read on every token request.
 * Writes through this wrapper drop what they change at once; writes by other processes are
 * noticed through `changeToken()` (SQLite's data_version), checked at most every
 * `checkEveryMs`, which empties the cache. So a client created, changed or disabled
 * anywhere is honoured within that bound. Unknown ids are not cached (no cache flooding).
 * At most `maxEntries` clients are kept (0: no cache), evicted at random when full.
 */
export function withClientCache(
  storage: Storage,
  clock: () => number,
  checkEveryMs = CLIENT_CACHE_CHECK_MS,
  maxEntries = CLIENT_CACHE_ENTRIES,
): Storage {
  // Clients are kept packed (packed-client.ts: few objects for the GC to trace); a record the
  // packed form cannot hold exactly is kept as a plain copy.
  const cache = new RandomReplacementMap<PackedClient | ClientRecord>(maxEntries);
  let token: number | undefined;
  // Bumped by every change and every emptying: a read that raced with one is not cached.
  let generation = 0;
  let checkedAt = -Infinity;

  /** Empties the cache when another process committed since the last check. */
  async function refresh(now: number): Promise<void> {
    checkedAt = now;
    const t = await storage.changeToken();
    if (t !== token) {
      token = t;
      generation++;
      cache.clear();
    }
  }

  const dropping =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>, id: (...args: A) => string | undefined) =>
    async (...args: A): Promise<R> => {
      try {
        return await fn.apply(storage, args);
      } finally {
        const key = id(...args);
        generation++;
        if (key === undefined) cache.clear();
        else cache.delete(key);
      }
    };

  const overrides: Partial<Storage> = {
    async getClient(clientId) {
      const now = clock();
      if (now - checkedAt >= checkEveryMs) await refresh(now);
      const hit = cache.get(clientId);
      if (hit) return "nums" in hit ? unpackClient(hit) : copy(hit);
      const before = generation;
      const c = await storage.getClient(clientId);
      if (c && generation === before) cache.set(clientId, packClient(c) ?? copy(c));
      return c;
    },
    createClient: dropping(storage.createClient, (c) => c.clientId),
    updateClient: dropping(storage.updateClient, (id) => id),
    deleteClient: dropping(storage.deleteClient, (id) => id),
    rotateSecret: dropping(storage.rotateSecret, (id) => id),
    // Last-used times are shown by GetClient: update the cached copies in place rather than
    // emptying the cache every flush (which would keep it cold with many active clients).
    async recordSecretUse(uses) {
      await storage.recordSecretUse(uses);
      for (const c of cache.values()) {
        if ("nums" in c) {
          recordUseInPacked(c, uses);
          continue;
        }
        for (const sec of c.secrets) {
          const t = uses.get(sec.secretId);
          if (t !== undefined && (sec.lastUsedTime === null || sec.lastUsedTime < t)) sec.lastUsedTime = t;
        }
      }
    },
  };
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

// Callers get their own copy (the Storage contract): a cheap one, the record is small and flat.
function copy(c: ClientRecord): ClientRecord {
  return { ...c, scopes: [...c.scopes], audiences: [...c.audiences], secrets: c.secrets.map((s) => ({ ...s })) };
}
