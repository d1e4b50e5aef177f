import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ClientRecord, type Storage, StorageUnavailableError } from "../../src/core/ports/storage.js";
import { ChangeFeed, NEVER_CHANGES } from "../../src/storage/change-feed.js";
import { RandomReplacementMap, withClientCache } from "../../src/storage/client-cache.js";
import { MemoryStorage } from "../../src/storage/memory/memory-storage.js";
import { SqliteStorage } from "../../src/storage/sqlite/sqlite-storage.js";
import { clientRecord } from "../helpers/client-record.js";
import { storageConformance } from "./conformance.js";

// The cache is a Storage too, so it passes the same conformance suite.
storageConformance("withClientCache(SqliteStorage)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tessera-cache-"));
  const raw = SqliteStorage.open(join(dir, "tessera.db"));
  return {
    storage: withClientCache(raw, NEVER_CHANGES),
    cleanup: async () => (await raw.close(), rmSync(dir, { recursive: true, force: true })),
  };
});

function client(id: string, now: number): ClientRecord {
  return clientRecord(id, { createTime: now, updateTime: now });
}

/** A change feed polled by hand (the timer's interval is too long to fire in a test), on a clock the test moves. */
async function manualFeed(source: Storage, graceMs = 60_000) {
  const clock = { now: 0 };
  const events: string[] = [];
  const feed = await ChangeFeed.start(source, {
    pollMs: 3_600_000,
    outageGraceMs: graceMs,
    now: () => clock.now,
    onUnavailable: () => events.push("unavailable"),
    onAvailable: () => events.push("available"),
    onStale: (stale) => events.push(stale ? "stale" : "fresh"),
  });
  return { feed, clock, events };
}

describe("withClientCache", () => {
  it("serves repeated reads from memory without asking storage, and sees another process's change once the feed has polled", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tessera-cache-"));
    const file = join(dir, "t.db");
    const a = SqliteStorage.open(file);
    const b = SqliteStorage.open(file); // "another process": another connection to the file
    const { storage: counted, counter } = countingStorage(a);
    const { feed } = await manualFeed(a);
    const cached = withClientCache(counted, feed);
    try {
      await a.createClient(client("c1", 0));
      expect((await cached.getClient("c1"))?.disabled).toBe(false);
      await b.updateClient("c1", { disabled: true }, 1);
      // Until the feed polls, the cached copy is served, and storage is not asked.
      expect((await cached.getClient("c1"))?.disabled).toBe(false);
      expect(counter.reads).toBe(1);
      await feed.check();
      expect((await cached.getClient("c1"))?.disabled).toBe(true);
      expect(counter.reads).toBe(2);
    } finally {
      feed.stop();
      await a.close();
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a request never waits for the database: cached clients are served while every read of it hangs", async () => {
    const raw = new MemoryStorage();
    await raw.createClient(client("c1", 0));
    let hang = false;
    const hanging = new Proxy(raw, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (typeof v !== "function") return v;
        const f = (v as (...a: unknown[]) => unknown).bind(target);
        return (...args: unknown[]) => (hang && prop !== "subscribeChanges" ? new Promise(() => {}) : f(...args));
      },
    }) as Storage;
    const { feed } = await manualFeed(hanging);
    const cached = withClientCache(hanging, feed);
    await cached.getClient("c1");
    hang = true;
    void feed.check(); // a poll stuck on the database
    expect((await cached.getClient("c1"))?.clientId).toBe("c1");
    feed.stop();
  });

  it("while the database cannot be reached, cached clients are served for the outage grace, then refused until a poll succeeds", async () => {
    const raw = new MemoryStorage();
    await raw.createClient(client("c1", 0));
    let down = false;
    const flaky = new Proxy(raw, {
      get(target, prop, receiver) {
        if (prop === "changeToken")
          return () => (down ? Promise.reject(new StorageUnavailableError("the database is unavailable")) : target.changeToken());
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const { feed, clock, events } = await manualFeed(flaky, 5000);
    const cached = withClientCache(flaky, feed);
    await cached.getClient("c1");
    down = true;
    clock.now = 1000;
    await feed.check();
    clock.now = 5000;
    expect((await cached.getClient("c1"))?.clientId).toBe("c1");
    clock.now = 5001;
    await expect(cached.getClient("c1")).rejects.toBeInstanceOf(StorageUnavailableError);
    await feed.check();
    expect(events).toEqual(["unavailable", "unavailable", "stale"]);
    down = false;
    clock.now = 9000;
    await feed.check();
    expect(events.slice(3)).toEqual(["available", "fresh"]);
    expect((await cached.getClient("c1"))?.clientId).toBe("c1");
    feed.stop();
  });

  it("drops a client at once when it is changed through the cache, and does not cache unknown ids", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tessera-cache-"));
    const raw = SqliteStorage.open(join(dir, "t.db"));
    const cached = withClientCache(raw, NEVER_CHANGES);
    try {
      expect(await cached.getClient("c2")).toBeUndefined();
      await cached.createClient(client("c2", 0));
      expect((await cached.getClient("c2"))?.name).toBe("c2");
      await cached.updateClient("c2", { name: "renamed" }, 1);
      expect((await cached.getClient("c2"))?.name).toBe("renamed");
      await cached.deleteClient("c2");
      expect(await cached.getClient("c2")).toBeUndefined();
    } finally {
      await raw.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A seeded generator, so the eviction tests are the same on every run. */
function seeded(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

describe("RandomReplacementMap", () => {
  it("behaves like a Map that may forget entries: never a wrong value, never over capacity", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("set" as const), key: fc.integer({ min: 0, max: 30 }), value: fc.integer() }),
      fc.record({ kind: fc.constant("delete" as const), key: fc.integer({ min: 0, max: 30 }) }),
      fc.record({ kind: fc.constant("clear" as const) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 }), fc.array(op, { maxLength: 200 }), fc.integer(), (max, ops, seed) => {
        const map = new RandomReplacementMap<number>(max, seeded(seed));
        const model = new Map<string, number>();
        for (const o of ops) {
          if (o.kind === "set") {
            map.set(String(o.key), o.value);
            model.set(String(o.key), o.value);
          } else if (o.kind === "delete") {
            map.delete(String(o.key));
            model.delete(String(o.key));
          } else {
            map.clear();
            model.clear();
          }
          expect(map.size).toBeLessThanOrEqual(max);
          for (let k = 0; k <= 30; k++) {
            const got = map.get(String(k));
            if (got !== undefined) expect(got).toBe(model.get(String(k)));
          }
          // The entry just written is always there (when the map holds anything at all).
          if (o.kind === "set" && max > 0) expect(map.get(String(o.key))).toBe(o.value);
          expect([...map.values()]).toHaveLength(map.size);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("keeps most entries when keys take turns in a cycle longer than the map (where oldest-first keeps none)", () => {
    const map = new RandomReplacementMap<number>(1000, seeded(7));
    let hits = 0;
    let lookups = 0;
    for (let round = 0; round < 20; round++) {
      for (let k = 0; k < 1010; k++) {
        const key = `client-${k}`;
        if (round >= 5) lookups++;
        if (map.get(key) !== undefined) {
          if (round >= 5) hits++;
        } else {
          map.set(key, k);
        }
      }
    }
    expect(hits / lookups).toBeGreaterThan(0.95);
  });
});

/** Counts reads that reach the wrapped storage; `hold` makes the next read wait for release(). */
function countingStorage(inner: Storage) {
  let held: () => void = () => {};
  const counter = {
    reads: 0,
    hold: false,
    release: () => {},
    /** Holds the next read once it has its result; resolves then. */
    holdNext(): Promise<void> {
      counter.hold = true;
      return new Promise<void>((r) => (held = r));
    },
  };
  const wrapped = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "getClient") {
        return async (id: string) => {
          counter.reads++;
          const result = await target.getClient(id);
          if (counter.hold) {
            counter.hold = false;
            const released = new Promise<void>((r) => (counter.release = r));
            held();
            await released;
          }
          return result;
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { storage: wrapped, counter };
}

describe("withClientCache sizing", () => {
  it("with size 0 reads storage on every request", async () => {
    const { storage, counter } = countingStorage(new MemoryStorage());
    const cached = withClientCache(storage, NEVER_CHANGES, 0);
    await cached.createClient(client("c1", 0));
    for (let i = 0; i < 3; i++) expect((await cached.getClient("c1"))?.clientId).toBe("c1");
    expect(counter.reads).toBe(3);
  });

  it("holds at most its size and serves repeated reads of those from memory", async () => {
    const { storage, counter } = countingStorage(new MemoryStorage());
    const cached = withClientCache(storage, NEVER_CHANGES, 2);
    for (const id of ["a", "b", "c"]) await cached.createClient(client(id, 0));
    for (const id of ["a", "b", "c"]) await cached.getClient(id);
    expect(counter.reads).toBe(3);
    counter.reads = 0;
    // The client read last is always kept ...
    expect((await cached.getClient("c"))?.clientId).toBe("c");
    expect(counter.reads).toBe(0);
    // ... but only two fit, so reading all three again goes to storage at least once.
    for (const id of ["a", "b", "c"]) expect((await cached.getClient(id))?.clientId).toBe(id);
    expect(counter.reads).toBeGreaterThanOrEqual(1);
  });

  it("does not cache a read that raced with a change made through it", async () => {
    const { storage, counter } = countingStorage(new MemoryStorage());
    const cached = withClientCache(storage, NEVER_CHANGES);
    await cached.createClient(client("c1", 0));
    const held = counter.holdNext();
    const stale = cached.getClient("c1"); // reads the enabled client, then waits
    await held;
    await cached.updateClient("c1", { disabled: true }, 1);
    counter.release();
    expect((await stale)?.disabled).toBe(false); // the read itself predates the change
    expect((await cached.getClient("c1"))?.disabled).toBe(true); // but it was not cached
  });
});
