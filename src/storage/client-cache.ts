import type { ClientRecord, Storage } from "./storage.js";

/** How stale a cached client may get when another process changes it. */
export const CLIENT_CACHE_CHECK_MS = 250;

/**
 * Wraps a Storage with an in-memory cache of clients, the one read on every token request.
 * Writes through this wrapper drop what they change at once; writes by other processes are
 * noticed through `changeToken()` (SQLite's data_version), checked at most every
 * `checkEveryMs`, which empties the cache. So a client created, changed or disabled
 * anywhere is honoured within that bound. Unknown ids are not cached (no cache flooding).
 */
export function withClientCache(
  storage: Storage,
  clock: () => number,
  checkEveryMs = CLIENT_CACHE_CHECK_MS,
  maxEntries = 100_000,
): Storage {
  const cache = new Map<string, ClientRecord>();
  let token: number | undefined;
  let checkedAt = -Infinity;

  /** Empties the cache when another process committed since the last check. */
  async function refresh(now: number): Promise<void> {
    checkedAt = now;
    const t = await storage.changeToken();
    if (t !== token) {
      token = t;
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
        if (key === undefined) cache.clear();
        else cache.delete(key);
      }
    };

  const overrides: Partial<Storage> = {
    async getClient(clientId) {
      const now = clock();
      if (now - checkedAt >= checkEveryMs) await refresh(now);
      const hit = cache.get(clientId);
      if (hit) return copy(hit);
      const c = await storage.getClient(clientId);
      if (c) {
        if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
        cache.set(clientId, copy(c));
      }
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
