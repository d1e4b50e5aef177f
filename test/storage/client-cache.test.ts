import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { withClientCache } from "../../src/storage/client-cache.js";
import { SqliteStorage } from "../../src/storage/sqlite/sqlite-storage.js";
import type { ClientRecord } from "../../src/storage/storage.js";
import { storageConformance } from "./conformance.js";

// The cache is a Storage too, so it passes the same conformance suite.
storageConformance("withClientCache(SqliteStorage)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tessera-cache-"));
  const raw = SqliteStorage.open(join(dir, "tessera.db"));
  return { storage: withClientCache(raw, Date.now), cleanup: async () => (await raw.close(), rmSync(dir, { recursive: true, force: true })) };
});

function client(id: string, now: number): ClientRecord {
  return { clientId: id, name: id, scopes: ["read"], audiences: [], tokenTtlSeconds: 3600, disabled: false, createTime: now, updateTime: now, tokensNotBefore: null, secrets: [] };
}

describe("withClientCache", () => {
  it("serves repeated reads from memory and sees another process's change within the check interval", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tessera-cache-"));
    const file = join(dir, "t.db");
    const a = SqliteStorage.open(file);
    const b = SqliteStorage.open(file); // "another process": another connection to the file
    let now = 1_000_000;
    const cached = withClientCache(a, () => now, 250);
    try {
      await a.createClient(client("c1", now));
      expect((await cached.getClient("c1"))?.disabled).toBe(false);
      await b.updateClient("c1", { disabled: true }, now);
      now += 100; // within the interval the cached copy may be served
      expect((await cached.getClient("c1"))?.disabled).toBe(false);
      now += 200; // past it: the change is seen
      expect((await cached.getClient("c1"))?.disabled).toBe(true);
    } finally {
      await a.close();
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("drops a client at once when it is changed through the cache, and does not cache unknown ids", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tessera-cache-"));
    const raw = SqliteStorage.open(join(dir, "t.db"));
    const cached = withClientCache(raw, () => 0, 60_000);
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
