import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ClientRecord } from "../../src/core/ports/storage.js";
import { packClient, recordUseInPacked, unpackClient } from "../../src/storage/packed-client.js";
import { clientRecord } from "../helpers/client-record.js";

// The client cache keeps clients packed; what comes out must be exactly what went in.

const time = fc.integer({ min: 0, max: 4_102_444_800_000 });
const secret = fc.record({
  secretId: fc.string({ minLength: 1, maxLength: 20 }),
  hash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  createTime: time,
  expireTime: fc.option(time, { nil: null }),
  lastUsedTime: fc.option(time, { nil: null }),
});
const record: fc.Arbitrary<ClientRecord> = fc.record({
  clientId: fc.string({ minLength: 1, maxLength: 40 }),
  name: fc.string({ maxLength: 40 }),
  scopes: fc.array(fc.string({ maxLength: 12 }), { maxLength: 5 }),
  audiences: fc.array(fc.string({ maxLength: 30 }), { maxLength: 3 }),
  tokenTtlSeconds: fc.integer({ min: 1, max: 86_400 }),
  disabled: fc.boolean(),
  createTime: time,
  updateTime: time,
  tokensNotBefore: fc.option(time, { nil: null }),
  scopeCutoffs: fc.array(fc.record({ scope: fc.string({ maxLength: 12 }), notBefore: time }), { maxLength: 3 }),
  secrets: fc.array(secret, { maxLength: 3 }),
  authMethod: fc.constant("client_secret" as const),
  keys: fc.constant([]),
  jwksUri: fc.constant(null),
  federatedCredentials: fc.constant([]),
});
const plain = (c: ClientRecord) => ({ ...c, secrets: c.secrets.map((s) => ({ ...s, hash: [...s.hash] })) });

describe("packClient / unpackClient", () => {
  it("give back exactly the record, or decline to pack it (then the cache keeps a plain copy)", () => {
    fc.assert(
      fc.property(record, (c) => {
        const p = packClient(c);
        if (p === undefined) {
          // Only lists with an empty or NUL-holding item are declined.
          const lists = [c.scopes, c.audiences, c.secrets.map((s) => s.secretId), c.scopeCutoffs.map((x) => x.scope)];
          expect(lists.some((l) => l.some((x) => x === "" || x.includes("\u0000")))).toBe(true);
          return;
        }
        expect(plain(unpackClient(p))).toEqual(plain(c));
        for (const s of unpackClient(p).secrets) expect(s.hash).toBeInstanceOf(Uint8Array);
      }),
      { numRuns: 1000 },
    );
  });

  it("pack the records Tessera writes (validated scopes, audiences and sec_ ids)", () => {
    const c = clientRecord("orders-service", {
      name: "Orders",
      scopes: ["read", "write"],
      audiences: ["https://api.example.com"],
      createTime: 1_764_000_000_000,
      updateTime: 1_764_000_000_000,
      scopeCutoffs: [{ scope: "admin", notBefore: 1_764_000_001_000 }],
      secrets: [{ secretId: "sec_abcdefghi", hash: new Uint8Array(32).fill(7), createTime: 1, expireTime: null, lastUsedTime: null }],
    });
    // Packed (not declined), and read back as it was written.
    const p = packClient(c);
    expect(p).toBeDefined();
    expect(plain(unpackClient(p!))).toEqual(plain(c));
  });

  it("hand out a new record each time: changing one does not change the packed client", () => {
    const p = packClient(clientRecord("c", { name: "n", scopes: ["a"], tokenTtlSeconds: 60, createTime: 1, updateTime: 1 }))!;
    const a = unpackClient(p);
    a.scopes.push("b");
    a.name = "changed";
    expect(unpackClient(p)).toMatchObject({ name: "n", scopes: ["a"] });
  });

  it("move last-used times forward only, for the secrets named", () => {
    fc.assert(
      fc.property(record, fc.array(fc.tuple(fc.nat(3), time), { maxLength: 4 }), (c, raw) => {
        const p = packClient(c);
        if (p === undefined || c.secrets.length === 0) return;
        const uses = new Map(raw.map(([i, t]) => [c.secrets[i % c.secrets.length]!.secretId, t] as const));
        recordUseInPacked(p, uses);
        const got = unpackClient(p);
        got.secrets.forEach((s, i) => {
          const before = c.secrets[i]!.lastUsedTime;
          // With duplicate ids the first one's use applies to each of them; either way never backwards.
          const t = uses.get(s.secretId);
          const want = t === undefined ? before : before === null || before < t ? t : before;
          expect(s.lastUsedTime).toBe(want);
        });
      }),
      { numRuns: 500 },
    );
  });
});
