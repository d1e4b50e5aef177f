import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ClientCredentialConflictError,
  ClientExistsError,
  type ClientRecord,
  type FederatedCredential,
  SchemaTooNewError,
  type SecretRecord,
  type SigningKeyRecord,
  type SigningKeyStatus,
  type Storage,
  StoreNotEmptyError,
  type StoreRecord,
} from "../../src/core/ports/storage.js";
import { digestOf } from "../../src/storage/store-records.js";
import { clientRecord } from "../helpers/client-record.js";

const T0 = Date.parse("2030-01-02T03:04:05.678Z");
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** A secret whose hash bytes are derived from its id, so mix-ups between secrets show. */
function secret(secretId: string, createTime: number, expireTime: number | null = null): SecretRecord {
  const hash = new Uint8Array(32);
  for (let i = 0; i < hash.length; i++) hash[i] = (secretId.charCodeAt(i % secretId.length) + i * 7) & 255;
  return { secretId, hash, createTime, expireTime, lastUsedTime: null };
}

function client(clientId: string, overrides: Partial<ClientRecord> = {}): ClientRecord {
  return clientRecord(clientId, {
    name: `client ${clientId}`,
    scopes: ["read", "write"],
    audiences: ["https://api.example"],
    createTime: T0,
    updateTime: T0,
    secrets: [secret(`sec_${clientId}`, T0)],
    ...overrides,
  });
}

function key(
  kid: string,
  createTime: number,
  status: SigningKeyStatus = "current",
  alg = "ES256",
  retireTime: number | null = null,
): SigningKeyRecord {
  return {
    kid,
    alg,
    privateKey: JSON.stringify({ kty: "EC", d: `private-${kid}` }),
    publicJwk: JSON.stringify({ kty: "EC", kid }),
    status,
    createTime,
    activateTime: status === "next" ? null : createTime,
    retireTime: status === "retired" ? (retireTime ?? createTime) : null,
  };
}

/** Secrets as plain data with hashes as byte arrays, so adapters returning Buffer or Uint8Array compare alike. */
function plainSecrets(secrets: SecretRecord[]): Array<Omit<SecretRecord, "hash"> & { hash: number[] }> {
  return secrets.map((s) => ({ ...s, hash: [...s.hash] }));
}

function plain(c: ClientRecord): Omit<ClientRecord, "secrets"> & { secrets: ReturnType<typeof plainSecrets> } {
  return { ...c, secrets: plainSecrets(c.secrets) };
}

/** Conformance cases an adapter may list as known bugs (run as `it.fails` until fixed). */
export const CONCURRENT_KEY_UPDATES = "concurrent updateSigningKeys calls run one after the other: each decide() sees the previous result";
/** See CONCURRENT_KEY_UPDATES. */
export const SWAP_CURRENT_AND_NEXT = "a plan that swaps the current and the next key applies: only the final state must be valid";

/** A new, empty store that several instances (as several processes would) can open at once. */
export interface SharedStore {
  /** Opens an instance on the store, migrating it if needed. */
  open(): Promise<Storage>;
  /** Marks the store as written by a schema one version newer than this build knows. */
  makeSchemaTooNew(): Promise<void>;
  /** Closes nothing (the test closes its instances) and removes the store. */
  cleanup(): Promise<void>;
}

/**
 * The behaviour every Storage adapter must have. An adapter's test file calls this with a
 * function that opens a fresh, empty store, the titles of cases it is known to fail, and, for
 * stores that several processes share, a function that makes a new shared store.
 */
export function storageConformance(
  name: string,
  open: () => Promise<{ storage: Storage; cleanup(): Promise<void> }>,
  knownBugs: readonly string[] = [],
  shared?: () => Promise<SharedStore>,
): void {
  const known = (title: string) => (knownBugs.includes(title) ? it.fails : it);

  if (shared) sharedStoreConformance(name, shared);

  describe(`Storage conformance: ${name}`, () => {
    let storage: Storage;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ storage, cleanup } = await open());
    });
    afterEach(async () => {
      await cleanup();
    });

    describe("clients", () => {
      it("getClient returns undefined for an unknown id", async () => {
        expect(await storage.getClient("nobody")).toBeUndefined();
      });

      it("createClient then getClient returns every field, secrets newest first with equal hash bytes", async () => {
        const older = { ...secret("sec_old", T0 - 5 * MINUTE, T0 + MINUTE), lastUsedTime: T0 - MINUTE };
        const newer = secret("sec_new", T0 - MINUTE);
        const c = client("c1", {
          name: "Billing service",
          scopes: ["b:write", "a:read", "tessera:admin"],
          audiences: ["https://b.example", "https://a.example"],
          tokenTtlSeconds: 90,
          disabled: true,
          tokensNotBefore: T0 - 3 * MINUTE - 678,
          createTime: T0 - 10 * MINUTE,
          updateTime: T0 - 2 * MINUTE,
          secrets: [older, newer],
        });
        await storage.createClient(structuredClone(c));

        const got = await storage.getClient("c1");
        expect(got).toBeDefined();
        expect(plain(got!)).toEqual(plain({ ...c, secrets: [newer, older] }));
        for (const s of got!.secrets) expect(s.hash).toBeInstanceOf(Uint8Array);
      });

      it("returned records are copies: changing one does not change the store", async () => {
        await storage.createClient(client("c1"));
        const got = (await storage.getClient("c1"))!;
        got.name = "changed";
        got.scopes.push("extra");
        got.secrets.length = 0;
        const again = (await storage.getClient("c1"))!;
        expect(again.name).toBe("client c1");
        expect(again.scopes).toEqual(["read", "write"]);
        expect(again.secrets).toHaveLength(1);
      });

      it("createClient of an existing id throws ClientExistsError and leaves the first client untouched", async () => {
        const first = client("dup", { name: "first", scopes: ["one"] });
        await storage.createClient(first);
        const second = client("dup", { name: "second", scopes: ["two"], secrets: [secret("sec_second", T0)] });
        await expect(storage.createClient(second)).rejects.toBeInstanceOf(ClientExistsError);

        const got = (await storage.getClient("dup"))!;
        expect(plain(got)).toEqual(plain(first));
      });

      it("updateClient changes only the given fields and sets updateTime", async () => {
        const c = client("c1", { name: "before", scopes: ["a", "b"], audiences: ["https://x"], tokenTtlSeconds: 60 });
        await storage.createClient(c);
        const later = T0 + 5 * MINUTE;

        const updated = await storage.updateClient("c1", { name: "after", scopes: [] }, later);
        const expected = plain({ ...c, name: "after", scopes: [], updateTime: later });
        expect(plain(updated!)).toEqual(expected);
        expect(plain((await storage.getClient("c1"))!)).toEqual(expected);

        // An explicitly undefined field is "not given", not "clear it".
        const again = await storage.updateClient("c1", { name: undefined, disabled: true, tokenTtlSeconds: 120 }, later + 1);
        expect(plain(again!)).toEqual({ ...expected, disabled: true, tokenTtlSeconds: 120, updateTime: later + 1 });
      });

      it("tokensNotBefore round-trips through createClient and updateClient, and other patches leave it alone", async () => {
        await storage.createClient(client("never"));
        expect((await storage.getClient("never"))!.tokensNotBefore).toBeNull();

        const cutOff = Date.parse("2030-01-02T03:00:00.000Z");
        await storage.createClient(client("cut", { tokensNotBefore: cutOff }));
        expect((await storage.getClient("cut"))!.tokensNotBefore).toBe(cutOff);

        const later = cutOff + 5 * MINUTE;
        expect((await storage.updateClient("never", { tokensNotBefore: later }, later))!.tokensNotBefore).toBe(later);
        expect((await storage.getClient("never"))!.tokensNotBefore).toBe(later);
        // Another client's cut-off is its own.
        expect((await storage.getClient("cut"))!.tokensNotBefore).toBe(cutOff);

        // Disabling in the same patch (what ClientAdminCore does) sets both.
        const both = await storage.updateClient("cut", { disabled: true, tokensNotBefore: later }, later);
        expect(both).toMatchObject({ disabled: true, tokensNotBefore: later, updateTime: later });

        const renamed = await storage.updateClient("never", { name: "renamed", tokensNotBefore: undefined }, later + 1);
        expect(renamed!.tokensNotBefore).toBe(later);
        expect((await storage.getClient("never"))!.tokensNotBefore).toBe(later);
      });

      it("createClient returns the client as stored, equal to what getClient reads", async () => {
        const stored = await storage.createClient(client("c1", { secrets: [secret("s1", T0), secret("s2", T0 + 1)] }));
        expect(plain(stored)).toEqual(plain((await storage.getClient("c1"))!));
      });

      it("scopeCutoffs round-trip through createClient, getClient and listClients", async () => {
        const cutoffs = [
          { scope: "write", notBefore: T0 + 1000 },
          { scope: "tessera:admin", notBefore: T0 - 2000 },
        ];
        await storage.createClient(client("c1", { scopeCutoffs: cutoffs }));
        expect((await storage.getClient("c1"))!.scopeCutoffs).toEqual(cutoffs);
        expect((await storage.listClients("", 10))[0]!.scopeCutoffs).toEqual(cutoffs);
        await storage.createClient(client("c2"));
        expect((await storage.getClient("c2"))!.scopeCutoffs).toEqual([]);
      });

      it("updateClient with scopes and scopeRemoval cuts off exactly the scopes taken away, keeps the later of two cut-offs, and forgets old ones", async () => {
        const old = { scope: "old", notBefore: T0 - 10 * MINUTE };
        await storage.createClient(client("c1", { scopes: ["a", "b", "c"], scopeCutoffs: [old, { scope: "b", notBefore: T0 + 5000 }] }));
        const removal = { notBefore: T0 + 2000, forgetBefore: T0 - MINUTE };
        const updated = await storage.updateClient("c1", { scopes: ["a", "d"], scopeRemoval: removal }, T0);
        const byScope = (cs: readonly { scope: string; notBefore: number }[]) => Object.fromEntries(cs.map((x) => [x.scope, x.notBefore]));
        // b kept its later cut-off, c got the new one, old was forgotten; a and d are held.
        expect(byScope(updated!.scopeCutoffs)).toEqual({ b: T0 + 5000, c: T0 + 2000 });
        expect(updated!.scopes).toEqual(["a", "d"]);
        expect(byScope((await storage.getClient("c1"))!.scopeCutoffs)).toEqual({ b: T0 + 5000, c: T0 + 2000 });

        // Giving a scope back keeps its cut-off: that is the point.
        const back = await storage.updateClient(
          "c1",
          { scopes: ["a", "b", "c", "d"], scopeRemoval: { notBefore: T0 + 9000, forgetBefore: T0 - MINUTE } },
          T0 + 1,
        );
        expect(byScope(back!.scopeCutoffs)).toEqual({ b: T0 + 5000, c: T0 + 2000 });

        // Patches without scopes, or without scopeRemoval, leave the cut-offs as they are.
        expect(
          byScope(
            (await storage.updateClient("c1", { name: "n", scopeRemoval: { notBefore: T0 + 9000, forgetBefore: T0 + 9000 } }, T0 + 2))!
              .scopeCutoffs,
          ),
        ).toEqual({ b: T0 + 5000, c: T0 + 2000 });
        expect(byScope((await storage.updateClient("c1", { scopes: ["a"] }, T0 + 3))!.scopeCutoffs)).toEqual({
          b: T0 + 5000,
          c: T0 + 2000,
        });

        // Forgotten once they are older than forgetBefore.
        const later = await storage.updateClient(
          "c1",
          { scopes: ["a"], scopeRemoval: { notBefore: T0 + HOUR, forgetBefore: T0 + 5000 } },
          T0 + HOUR,
        );
        expect(later!.scopeCutoffs).toEqual([]);
      });

      it("a tombstone left by deleteClient raises the tokensNotBefore of the next client with that id, once", async () => {
        await storage.createClient(client("c1"));
        expect(await storage.deleteClient("c1", undefined, { tokensNotBefore: T0 + 1000, expireTime: T0 + HOUR })).toBe(true);
        const reborn = await storage.createClient(client("c1"));
        expect(reborn.tokensNotBefore).toBe(T0 + 1000);
        expect((await storage.getClient("c1"))!.tokensNotBefore).toBe(T0 + 1000);
        // A later cut-off of the new client's own wins; the tombstone was used up.
        await storage.deleteClient("c1");
        expect((await storage.createClient(client("c1", { tokensNotBefore: T0 + 7000 }))).tokensNotBefore).toBe(T0 + 7000);
        await storage.deleteClient("c1");
        expect((await storage.createClient(client("c1"))).tokensNotBefore).toBeNull();
        // Another id never sees it.
        await storage.deleteClient("c1", undefined, { tokensNotBefore: T0 + 1000, expireTime: T0 + HOUR });
        expect((await storage.createClient(client("c2"))).tokensNotBefore).toBeNull();
      });

      it("two tombstones for one id keep the later cut-off; deleting an unknown id leaves none", async () => {
        await storage.createClient(client("c1"));
        await storage.deleteClient("c1", undefined, { tokensNotBefore: T0 + 3000, expireTime: T0 + HOUR });
        await storage.createClient(client("c1", { tokensNotBefore: null }));
        await storage.deleteClient("c1", undefined, { tokensNotBefore: T0 + 9000, expireTime: T0 + HOUR });
        expect((await storage.createClient(client("c1"))).tokensNotBefore).toBe(T0 + 9000);
        expect(await storage.deleteClient("ghost", undefined, { tokensNotBefore: T0 + 1000, expireTime: T0 + HOUR })).toBe(false);
        expect((await storage.createClient(client("ghost"))).tokensNotBefore).toBeNull();
      });

      it("pruneRevokedTokens drops tombstones that expired before its time, and only those", async () => {
        await storage.createClient(client("gone"));
        await storage.createClient(client("kept"));
        await storage.deleteClient("gone", undefined, { tokensNotBefore: T0 + 1000, expireTime: T0 + MINUTE });
        await storage.deleteClient("kept", undefined, { tokensNotBefore: T0 + 1000, expireTime: T0 + HOUR });
        expect(await storage.pruneRevokedTokens(T0 + MINUTE + 1)).toBe(0);
        expect((await storage.createClient(client("gone"))).tokensNotBefore).toBeNull();
        expect((await storage.createClient(client("kept"))).tokensNotBefore).toBe(T0 + 1000);
      });

      it("updateClient returns undefined for an unknown id and creates nothing", async () => {
        expect(await storage.updateClient("ghost", { name: "x" }, T0)).toBeUndefined();
        expect(await storage.getClient("ghost")).toBeUndefined();
      });

      it("deleteClient returns true once, then false, and the client is gone", async () => {
        await storage.createClient(client("c1"));
        await storage.createClient(client("c2"));
        expect(await storage.deleteClient("c1")).toBe(true);
        expect(await storage.getClient("c1")).toBeUndefined();
        expect(await storage.deleteClient("c1")).toBe(false);
        expect(await storage.deleteClient("never")).toBe(false);
        expect((await storage.getClient("c2"))?.clientId).toBe("c2");
      });

      it("deleteClient removes the client's secrets: a new client with the same id starts without them", async () => {
        await storage.createClient(client("c1", { secrets: [secret("sec_a", T0), secret("sec_b", T0 + 1)] }));
        await storage.deleteClient("c1");
        await storage.createClient(client("c1", { secrets: [secret("sec_c", T0 + 2)] }));
        expect((await storage.getClient("c1"))!.secrets.map((s) => s.secretId)).toEqual(["sec_c"]);
        // The old secret ids are free again as well.
        await storage.createClient(client("c2", { secrets: [secret("sec_a", T0)] }));
        expect((await storage.getClient("c2"))!.secrets.map((s) => s.secretId)).toEqual(["sec_a"]);
      });

      it("listClients orders by id (byte order, case-sensitive) and pages with afterId and limit", async () => {
        const ids = ["b", "B", "a", "A-1", "a.b", "_x", "~z", "0", "a_"];
        for (const id of ids) await storage.createClient(client(id));
        const sorted = [...ids].sort(); // ASCII: UTF-16 order is byte order

        expect((await storage.listClients("", 100)).map((c) => c.clientId)).toEqual(sorted);
        expect((await storage.listClients("", 3)).map((c) => c.clientId)).toEqual(sorted.slice(0, 3));
        expect((await storage.listClients(sorted[2]!, 3)).map((c) => c.clientId)).toEqual(sorted.slice(3, 6));
        // afterId need not exist; it is a position.
        expect((await storage.listClients("a0", 100)).map((c) => c.clientId)).toEqual(sorted.filter((id) => id > "a0"));
        expect(await storage.listClients(sorted[sorted.length - 1]!, 10)).toEqual([]);
        expect(await storage.listClients("", 0)).toEqual([]);
      });

      it("listClients returns whole records, secrets included", async () => {
        const c = client("c1", { secrets: [secret("s1", T0), secret("s2", T0 + 1)] });
        await storage.createClient(structuredClone(c));
        const [listed] = await storage.listClients("", 10);
        expect(plain(listed!)).toEqual(plain({ ...c, secrets: [c.secrets[1]!, c.secrets[0]!] }));
      });

      it("listClients on an empty store is empty", async () => {
        expect(await storage.listClients("", 10)).toEqual([]);
      });
    });

    describe("rotateSecret", () => {
      it("adds the secret, caps other expiries at othersExpireAt, never extends one, prunes those expired at now", async () => {
        const now = T0 + 10 * MINUTE;
        const othersExpireAt = now + MINUTE;
        await storage.createClient(
          client("c1", {
            secrets: [
              secret("forever", T0), // no expiry: capped
              secret("later", T0 + 1, now + 5 * MINUTE), // later than the cap: capped
              secret("sooner", T0 + 2, now + 1000), // earlier than the cap: kept as is
              secret("at_now", T0 + 3, now), // expired exactly at now: pruned
              secret("gone", T0 + 4, now - 1), // expired before now: pruned
            ],
          }),
        );
        const fresh = secret("fresh", now);

        const rotated = await storage.rotateSecret("c1", fresh, othersExpireAt, now);
        const expiries = (c: ClientRecord) => Object.fromEntries(c.secrets.map((s) => [s.secretId, s.expireTime]));
        const expected = { fresh: null, forever: othersExpireAt, later: othersExpireAt, sooner: now + 1000 };
        expect(expiries(rotated!)).toEqual(expected);

        const stored = (await storage.getClient("c1"))!;
        expect(expiries(stored)).toEqual(expected);
        expect(stored.secrets[0]!.secretId).toBe("fresh"); // newest first
        expect([...stored.secrets[0]!.hash]).toEqual([...fresh.hash]);
        expect(stored.updateTime).toBe(now);
      });

      it("with othersExpireAt = now (no grace) leaves only the new secret", async () => {
        await storage.createClient(client("c1", { secrets: [secret("old1", T0), secret("old2", T0 + 1, T0 + MINUTE)] }));
        const now = T0 + 2;
        const rotated = await storage.rotateSecret("c1", secret("new", now), now, now);
        expect(rotated!.secrets.map((s) => s.secretId)).toEqual(["new"]);
        expect((await storage.getClient("c1"))!.secrets.map((s) => s.secretId)).toEqual(["new"]);
      });

      it("returns undefined for an unknown client and stores nothing", async () => {
        expect(await storage.rotateSecret("ghost", secret("s", T0), T0, T0)).toBeUndefined();
        expect(await storage.getClient("ghost")).toBeUndefined();
        // The secret id was not taken by the failed rotation.
        await storage.createClient(client("real", { secrets: [secret("s", T0)] }));
        expect((await storage.getClient("real"))!.secrets.map((s) => s.secretId)).toEqual(["s"]);
      });

      it("leaves other clients' secrets alone", async () => {
        await storage.createClient(client("c1", { secrets: [secret("c1s", T0)] }));
        await storage.createClient(client("c2", { secrets: [secret("c2s", T0, T0 + 1)] }));
        await storage.rotateSecret("c1", secret("c1new", T0 + MINUTE), T0 + MINUTE, T0 + MINUTE);
        const other = (await storage.getClient("c2"))!;
        expect(other.secrets.map((s) => [s.secretId, s.expireTime])).toEqual([["c2s", T0 + 1]]);
        expect(other.updateTime).toBe(T0);
      });
    });

    describe("recordSecretUse", () => {
      it("sets lastUsedTime and only ever moves it forward", async () => {
        await storage.createClient(client("c1", { secrets: [secret("s1", T0), secret("s2", T0 + 1)] }));
        const used = async () => Object.fromEntries((await storage.getClient("c1"))!.secrets.map((s) => [s.secretId, s.lastUsedTime]));

        await storage.recordSecretUse(new Map([["s1", T0 + 2 * MINUTE]]));
        expect(await used()).toEqual({ s1: T0 + 2 * MINUTE, s2: null });

        await storage.recordSecretUse(
          new Map([
            ["s1", T0 + MINUTE],
            ["s2", T0 + 3 * MINUTE],
          ]),
        );
        expect(await used()).toEqual({ s1: T0 + 2 * MINUTE, s2: T0 + 3 * MINUTE });

        await storage.recordSecretUse(new Map([["s1", T0 + 4 * MINUTE]]));
        expect(await used()).toEqual({ s1: T0 + 4 * MINUTE, s2: T0 + 3 * MINUTE });
      });

      it("ignores unknown secret ids and empty batches", async () => {
        await storage.createClient(client("c1", { secrets: [secret("s1", T0)] }));
        await storage.recordSecretUse(new Map());
        await storage.recordSecretUse(new Map([["nope", T0]]));
        expect((await storage.getClient("c1"))!.secrets[0]!.lastUsedTime).toBeNull();
      });
    });

    describe("signing keys", () => {
      const byKid = async () => Object.fromEntries((await storage.listSigningKeys()).map((k) => [k.kid, k]));
      /** Installs `keys` with one plan on an empty store. */
      const install = (...keys: SigningKeyRecord[]) =>
        storage.updateSigningKeys(() => ({ upsert: keys.map((k) => structuredClone(k)), remove: [], result: undefined }));

      it("listSigningKeys is empty on a new store", async () => {
        expect(await storage.listSigningKeys()).toEqual([]);
      });

      it("updateSigningKeys on an empty store gives decide() no keys and stores the upserts with every field", async () => {
        const cur = key("k1", T0, "current");
        const next = key("k2", T0 + 1, "next", "EdDSA");
        const seen: SigningKeyRecord[][] = [];
        await storage.updateSigningKeys((keys) => {
          seen.push(keys);
          return { upsert: [structuredClone(cur), structuredClone(next)], remove: [], result: null };
        });
        expect(seen).toEqual([[]]);
        expect(await byKid()).toEqual({ k1: cur, k2: next });
      });

      it("updateSigningKeys returns the plan's result", async () => {
        const result = { rotated: true, kid: "k1" };
        expect(await storage.updateSigningKeys(() => ({ upsert: [], remove: [], result }))).toEqual(result);
        expect(await storage.updateSigningKeys(() => ({ upsert: [key("k1", T0, "current")], remove: [], result: 42 }))).toBe(42);
      });

      it("decide() sees exactly what listSigningKeys returns", async () => {
        await install(key("k1", T0, "retired", "ES256", T0 + MINUTE), key("k2", T0 + 1, "current"), key("k3", T0 + 2, "next"));
        const listed = await storage.listSigningKeys();
        let seen: SigningKeyRecord[] = [];
        await storage.updateSigningKeys((keys) => {
          seen = keys;
          return { upsert: [], remove: [], result: undefined };
        });
        expect(seen).toEqual(listed);
        expect(listed.map((k) => k.kid).sort()).toEqual(["k1", "k2", "k3"]);
      });

      it("listSigningKeys orders newest first, then by kid", async () => {
        await install(
          key("b", T0),
          key("a", T0, "next"),
          key("c", T0 + 2, "retired", "ES256", T0 + 3),
          key("d", T0 - 1, "retired", "ES256", T0),
        );
        expect((await storage.listSigningKeys()).map((k) => k.kid)).toEqual(["c", "a", "b", "d"]);
      });

      it("applies upserts (insert and replace by kid) and removes in one call", async () => {
        const k1 = key("k1", T0, "retired", "ES256", T0 + MINUTE);
        const k2 = key("k2", T0 + 1, "current");
        const k3 = key("k3", T0 + 2, "next");
        await install(k1, k2, k3);
        const k2Changed = { ...k2, privateKey: JSON.stringify({ enc: "A256GCM", kek: "x" }), alg: "PS256" };
        const k4 = key("k4", T0 + 3, "retired", "EdDSA", T0 + 4);
        await storage.updateSigningKeys(() => ({ upsert: [k2Changed, k4], remove: ["k1"], result: undefined }));
        expect(await byKid()).toEqual({ k2: k2Changed, k3, k4 });
      });

      it("removing an unknown kid is not an error", async () => {
        await install(key("k1", T0));
        await storage.updateSigningKeys(() => ({ upsert: [], remove: ["nope"], result: undefined }));
        expect(Object.keys(await byKid())).toEqual(["k1"]);
      });

      it("demoting current -> retired and promoting next -> current with a new next, in one plan", async () => {
        const cur = key("k1", T0, "current");
        const next = key("k2", T0 + 1, "next");
        await install(cur, next);
        const now = T0 + 10 * MINUTE;
        const retired = { ...cur, status: "retired" as const, retireTime: now };
        const promoted = { ...next, status: "current" as const, activateTime: now };
        const fresh = key("k3", now, "next");
        // Listed in the order most likely to trip a one-current/one-next constraint.
        await storage.updateSigningKeys(() => ({ upsert: [fresh, promoted, retired], remove: [], result: undefined }));
        expect(await byKid()).toEqual({ k1: retired, k2: promoted, k3: fresh });
      });

      known(SWAP_CURRENT_AND_NEXT)(SWAP_CURRENT_AND_NEXT, async () => {
        const cur = key("k1", T0, "current");
        const next = key("k2", T0 + 1, "next");
        await install(cur, next);
        const demoted = { ...cur, status: "next" as const, activateTime: null };
        const promoted = { ...next, status: "current" as const, activateTime: T0 + MINUTE };
        await storage.updateSigningKeys(() => ({ upsert: [demoted, promoted], remove: [], result: undefined }));
        expect(await byKid()).toEqual({ k1: demoted, k2: promoted });
      });

      it("a decide() that throws rejects with its error and changes nothing", async () => {
        await install(key("k1", T0, "current"), key("k2", T0 + 1, "next"));
        const before = await storage.listSigningKeys();
        const boom = new Error("decided not to");
        await expect(
          storage.updateSigningKeys((keys) => {
            // Mutating what decide() was given must not leak into the store either.
            keys[0]!.status = "retired";
            throw boom;
          }),
        ).rejects.toBe(boom);
        expect(await storage.listSigningKeys()).toEqual(before);
      });

      it("a plan that would leave two current keys is refused and changes nothing", async () => {
        await install(key("k1", T0, "current"), key("k2", T0 + 1, "next"));
        const before = await storage.listSigningKeys();
        await expect(
          storage.updateSigningKeys(() => ({
            upsert: [key("k3", T0 + 2, "retired", "ES256", T0 + 3), key("k4", T0 + 2, "current")],
            remove: ["k2"],
            result: undefined,
          })),
        ).rejects.toThrow();
        expect(await storage.listSigningKeys()).toEqual(before);
      });

      it("a plan that would leave two next keys is refused and changes nothing", async () => {
        await install(key("k1", T0, "current"), key("k2", T0 + 1, "next"));
        const before = await storage.listSigningKeys();
        await expect(
          storage.updateSigningKeys(() => ({ upsert: [key("k3", T0 + 2, "next")], remove: [], result: undefined })),
        ).rejects.toThrow();
        expect(await storage.listSigningKeys()).toEqual(before);
      });

      known(CONCURRENT_KEY_UPDATES)(CONCURRENT_KEY_UPDATES, async () => {
        // Two callers in one process (the maintenance timer and a rotation request) must not
        // both decide from the same snapshot: the second would undo or clash with the first.
        const seen: number[] = [];
        const addOne = () =>
          storage.updateSigningKeys((keys) => {
            seen.push(keys.length);
            return { upsert: [key(`k${keys.length}`, T0 + keys.length, "retired")], remove: [], result: keys.length };
          });
        expect(await Promise.all([addOne(), addOne(), addOne()])).toEqual([0, 1, 2]);
        expect(seen).toEqual([0, 1, 2]);
        expect((await storage.listSigningKeys()).map((k) => k.kid).sort()).toEqual(["k0", "k1", "k2"]);
      });

      it("records are copies both ways: changing a planned or a listed record does not change the store", async () => {
        const k1 = key("k1", T0, "current");
        const planned = structuredClone(k1);
        await storage.updateSigningKeys(() => ({ upsert: [planned], remove: [], result: undefined }));
        planned.status = "retired";
        const [listed] = await storage.listSigningKeys();
        listed!.privateKey = "changed";
        expect(await storage.listSigningKeys()).toEqual([k1]);
      });
    });

    describe("revoked tokens", () => {
      it("isTokenRevoked is false for a jti never revoked, true after revokeToken", async () => {
        expect(await storage.isTokenRevoked("j1")).toBe(false);
        await storage.revokeToken("j1", "c1", T0 + MINUTE);
        expect(await storage.isTokenRevoked("j1")).toBe(true);
        expect(await storage.isTokenRevoked("j2")).toBe(false);
        expect(await storage.isTokenRevoked("J1")).toBe(false);
      });

      it("revokeToken is idempotent: revoking twice keeps one entry", async () => {
        await storage.revokeToken("j1", "c1", T0 + MINUTE);
        await storage.revokeToken("j1", "c1", T0 + MINUTE);
        expect(await storage.isTokenRevoked("j1")).toBe(true);
        expect(await storage.pruneRevokedTokens(T0 + 2 * MINUTE)).toBe(1);
        expect(await storage.isTokenRevoked("j1")).toBe(false);
      });

      it("pruneRevokedTokens removes only entries with expireTime < before and returns how many", async () => {
        await storage.revokeToken("early", "c1", T0 - 1);
        await storage.revokeToken("also-early", "c2", T0 - MINUTE);
        await storage.revokeToken("exact", "c1", T0);
        await storage.revokeToken("late", "c1", T0 + 1);
        expect(await storage.pruneRevokedTokens(T0)).toBe(2);
        const revoked = async () =>
          Object.fromEntries(
            await Promise.all(["early", "also-early", "exact", "late"].map(async (j) => [j, await storage.isTokenRevoked(j)])),
          );
        expect(await revoked()).toEqual({ early: false, "also-early": false, exact: true, late: true });
        expect(await storage.pruneRevokedTokens(T0)).toBe(0);
        expect(await storage.pruneRevokedTokens(T0 + 1)).toBe(1);
        expect(await revoked()).toEqual({ early: false, "also-early": false, exact: false, late: true });
      });

      it("pruneRevokedTokens on an empty list returns 0", async () => {
        expect(await storage.pruneRevokedTokens(T0)).toBe(0);
      });

      it("the deny-list is independent of clients: deleting the client keeps its revoked tokens", async () => {
        await storage.createClient(client("c1"));
        await storage.revokeToken("j1", "c1", T0 + MINUTE);
        await storage.deleteClient("c1");
        expect(await storage.isTokenRevoked("j1")).toBe(true);
      });
    });

    describe("purgeDeletedData", () => {
      it("keeps every live client, key, revocation, audit event and meta entry, and the store stays writable", async () => {
        await storage.createClient(client("c1"), {
          time: T0,
          actor: "a",
          action: "client.create",
          target: "c1",
          changes: {},
          origin: "local",
        });
        await storage.createClient(client("c2"));
        await storage.deleteClient("c2");
        await storage.updateSigningKeys(() => ({ upsert: [key("k1", T0), key("k2", T0, "next")], remove: [], result: undefined }));
        await storage.updateSigningKeys(() => ({
          upsert: [{ ...key("k1", T0), privateKey: '{"enc":"A256GCM"}' }],
          remove: ["k2"],
          result: undefined,
        }));
        await storage.revokeToken("j1", "c1", T0 + MINUTE);
        await storage.setMeta("k", "v", true);
        const before = {
          client: plain((await storage.getClient("c1"))!),
          keys: await storage.listSigningKeys(),
          audit: await storage.listAuditEvents(undefined, 10),
        };

        await storage.purgeDeletedData();

        expect(plain((await storage.getClient("c1"))!)).toEqual(before.client);
        expect(await storage.getClient("c2")).toBeUndefined();
        expect(await storage.listSigningKeys()).toEqual(before.keys);
        expect(await storage.listAuditEvents(undefined, 10)).toEqual(before.audit);
        expect(await storage.isTokenRevoked("j1")).toBe(true);
        expect(await storage.getMeta("k")).toBe("v");
        await storage.createClient(client("c3"));
        expect((await storage.getClient("c3"))?.clientId).toBe("c3");
      });
    });

    describe("meta", () => {
      it("getMeta of an unset key is undefined", async () => {
        expect(await storage.getMeta("issuer")).toBeUndefined();
      });

      it("setMeta without overwrite writes only when unset", async () => {
        expect(await storage.setMeta("issuer", "https://a", false)).toBe(true);
        expect(await storage.getMeta("issuer")).toBe("https://a");
        expect(await storage.setMeta("issuer", "https://b", false)).toBe(false);
        expect(await storage.getMeta("issuer")).toBe("https://a");
      });

      it("setMeta with overwrite always writes", async () => {
        expect(await storage.setMeta("k", "v1", true)).toBe(true);
        expect(await storage.setMeta("k", "v2", true)).toBe(true);
        expect(await storage.getMeta("k")).toBe("v2");
        // Keys are independent.
        expect(await storage.setMeta("other", "", false)).toBe(true);
        expect(await storage.getMeta("other")).toBe("");
        expect(await storage.getMeta("k")).toBe("v2");
      });
    });

    // Clients without secrets: keys, a jwks_uri, federated credentials, and the replay store.
    describe("client credentials beyond secrets", () => {
      const jwk = (kid: string) => ({ kty: "EC", crv: "P-256", x: `x-${kid}`, y: `y-${kid}`, kid, use: "sig" });
      const rule = (credentialId: string, subject: string, overrides: Partial<FederatedCredential> = {}): FederatedCredential => ({
        credentialId,
        name: `rule ${credentialId}`,
        issuer: "https://issuer.example",
        subject,
        keySource: { kind: "jwks", keys: [jwk("k-rule")] },
        audience: "https://tessera.example",
        conditions: [{ claim: "repository_id", values: ["42", "43"] }],
        maxAgeSeconds: 600,
        requireJti: true,
        createTime: T0,
        ...overrides,
      });

      it("authMethod, keys, jwksUri and federatedCredentials round-trip through createClient, getClient and listClients", async () => {
        const c = client("pk", {
          authMethod: "private_key_jwt",
          secrets: [],
          keys: [
            { kid: "k1", jwk: jwk("k1"), createTime: T0 },
            { kid: "k2", jwk: jwk("k2"), createTime: T0 + 1 },
          ],
        });
        const f = client("fed", {
          authMethod: "federated",
          secrets: [],
          federatedCredentials: [
            rule("fc_1", "system:serviceaccount:ns:sa"),
            rule("fc_2", "spiffe://example.org/w", { keySource: { kind: "oidc_discovery" }, conditions: [], requireJti: false }),
          ],
        });
        const u = client("uri", { authMethod: "private_key_jwt", secrets: [], jwksUri: "https://keys.example/jwks.json" });
        for (const x of [c, f, u]) await storage.createClient(structuredClone(x));
        for (const x of [c, f, u]) expect(plain((await storage.getClient(x.clientId))!)).toEqual(plain(x));
        const listed = await storage.listClients("", 10);
        expect(listed.map((x) => plain(x))).toEqual([f, c, u].map((x) => plain(x)));
        // A secret client has the defaults.
        await storage.createClient(client("plain"));
        expect(await storage.getClient("plain")).toMatchObject({
          authMethod: "client_secret",
          keys: [],
          jwksUri: null,
          federatedCredentials: [],
        });
      });

      it("updateClient adds and removes keys and federated credentials, leaving the others in order", async () => {
        await storage.createClient(
          client("c1", { authMethod: "private_key_jwt", secrets: [], keys: [{ kid: "k1", jwk: jwk("k1"), createTime: T0 }] }),
        );
        await storage.updateClient("c1", { addKey: { kid: "k2", jwk: jwk("k2"), createTime: T0 + 1 } }, T0 + 1);
        await storage.updateClient("c1", { addKey: { kid: "k3", jwk: jwk("k3"), createTime: T0 + 2 } }, T0 + 2);
        const removed = await storage.updateClient("c1", { removeKid: "k2" }, T0 + 3);
        expect(removed!.keys.map((k) => k.kid)).toEqual(["k1", "k3"]);
        expect(removed!.updateTime).toBe(T0 + 3);
        expect((await storage.getClient("c1"))!.keys.map((k) => k.kid)).toEqual(["k1", "k3"]);
        // Removing what is gone already changes nothing else.
        expect((await storage.updateClient("c1", { removeKid: "k2" }, T0 + 4))!.keys.map((k) => k.kid)).toEqual(["k1", "k3"]);

        await storage.updateClient("c1", { addFederatedCredential: rule("fc_a", "a") }, T0 + 5);
        await storage.updateClient("c1", { addFederatedCredential: rule("fc_b", "b") }, T0 + 6);
        await storage.updateClient("c1", { removeFederatedCredentialId: "fc_a" }, T0 + 7);
        expect((await storage.getClient("c1"))!.federatedCredentials).toEqual([rule("fc_b", "b")]);
      });

      it("a taken kid, a second rule for one issuer and subject, or keys with a jwks_uri are refused with ClientCredentialConflictError, changing nothing", async () => {
        await storage.createClient(
          client("c1", {
            authMethod: "private_key_jwt",
            secrets: [],
            keys: [{ kid: "k1", jwk: jwk("k1"), createTime: T0 }],
            federatedCredentials: [rule("fc_a", "a")],
          }),
        );
        const before = plain((await storage.getClient("c1"))!);
        const audit = { time: T0, actor: "admin", action: "client.add_key", target: "c1", changes: {}, origin: "local" };
        await expect(
          storage.updateClient("c1", { addKey: { kid: "k1", jwk: jwk("k1"), createTime: T0 + 1 } }, T0 + 1, audit),
        ).rejects.toBeInstanceOf(ClientCredentialConflictError);
        await expect(storage.updateClient("c1", { addFederatedCredential: rule("fc_b", "a") }, T0 + 1, audit)).rejects.toBeInstanceOf(
          ClientCredentialConflictError,
        );
        await expect(storage.updateClient("c1", { jwksUri: "https://keys.example/jwks.json" }, T0 + 1, audit)).rejects.toBeInstanceOf(
          ClientCredentialConflictError,
        );
        expect(plain((await storage.getClient("c1"))!)).toEqual(before);
        expect(await storage.listAuditEvents(undefined, 10)).toEqual([]);
        // Without its keys, the jwks_uri is taken; null clears it again.
        await storage.updateClient("c1", { removeKid: "k1" }, T0 + 2);
        expect((await storage.updateClient("c1", { jwksUri: "https://keys.example/jwks.json" }, T0 + 3))!.jwksUri).toBe(
          "https://keys.example/jwks.json",
        );
        expect((await storage.updateClient("c1", { jwksUri: null }, T0 + 4))!.jwksUri).toBeNull();
      });

      it("updateClient to an auth method other than client_secret deletes the client's secrets in the same change", async () => {
        await storage.createClient(client("c1", { secrets: [secret("s1", T0), secret("s2", T0 + 1)] }));
        await storage.createClient(client("c2"));
        const moved = await storage.updateClient("c1", { authMethod: "private_key_jwt" }, T0 + 5);
        expect(moved).toMatchObject({ authMethod: "private_key_jwt", secrets: [] });
        expect((await storage.getClient("c1"))!.secrets).toEqual([]);
        // Back to client_secret: the old secrets do not return.
        expect((await storage.updateClient("c1", { authMethod: "client_secret" }, T0 + 6))!.secrets).toEqual([]);
        expect((await storage.getClient("c2"))!.secrets).toHaveLength(1);
      });

      it("recordAssertionJti is true once per client and jti until it expires, then true again", async () => {
        expect(await storage.recordAssertionJti("c1", "j1", T0 + MINUTE, T0)).toBe(true);
        expect(await storage.recordAssertionJti("c1", "j1", T0 + MINUTE, T0 + 1)).toBe(false);
        expect(await storage.recordAssertionJti("c1", "j1", T0 + 2 * MINUTE, T0 + MINUTE)).toBe(false);
        // Another client's jti is its own.
        expect(await storage.recordAssertionJti("c2", "j1", T0 + MINUTE, T0)).toBe(true);
        // Expired (not yet pruned): the jti may be used by a new assertion.
        expect(await storage.recordAssertionJti("c1", "j1", T0 + 3 * MINUTE, T0 + MINUTE + 1)).toBe(true);
        expect(await storage.recordAssertionJti("c1", "j1", T0 + 3 * MINUTE, T0 + 2 * MINUTE)).toBe(false);
      });

      it("pruneAssertionJtis drops the entries that expired before its time and returns how many", async () => {
        await storage.recordAssertionJti("c1", "old", T0, T0 - MINUTE);
        await storage.recordAssertionJti("c1", "edge", T0 + 1, T0 - MINUTE);
        await storage.recordAssertionJti("c2", "new", T0 + HOUR, T0 - MINUTE);
        expect(await storage.pruneAssertionJtis(T0 + 1)).toBe(1);
        expect(await storage.pruneAssertionJtis(T0 + 1)).toBe(0);
        // What was kept is still refused; what was pruned was expired anyway.
        expect(await storage.recordAssertionJti("c1", "edge", T0 + HOUR, T0)).toBe(false);
        expect(await storage.recordAssertionJti("c2", "new", T0 + HOUR, T0)).toBe(false);
        expect(await storage.recordAssertionJti("c1", "old", T0 + HOUR, T0)).toBe(true);
      });

      it("recordAuditEvents appends events that list like every other, newest first", async () => {
        await storage.createClient(client("c1"), {
          time: T0,
          actor: "admin",
          action: "client.create",
          target: "c1",
          changes: {},
          origin: "local",
        });
        const events = [1, 2].map((n) => ({
          time: T0 + n,
          actor: "c1",
          action: "client.federated_token",
          target: "c1",
          changes: { issuer: "https://issuer.example", subject: `s${n}`, tokens: n },
          origin: "10.0.0.1",
        }));
        await storage.recordAuditEvents(events);
        await storage.recordAuditEvents([]);
        const listed = await storage.listAuditEvents(undefined, 10, "c1");
        expect(listed.map((e) => e.action)).toEqual(["client.federated_token", "client.federated_token", "client.create"]);
        expect(listed[0]).toMatchObject({ ...events[1], eventId: expect.any(Number) });
      });
    });

    describe("export and import", () => {
      /** A store holding one of everything, with the awkward cases: an encrypted key, secrets of a deleted id, a scope cut-off. */
      async function fill(target: Storage): Promise<void> {
        const audit = (n: number) => ({
          time: T0 + n,
          actor: "admin",
          action: "client.update",
          target: "c1",
          changes: { n, name: `é-${n}`, nested: { b: 1, a: [2, 1] } },
          origin: "10.0.0.1",
        });
        await target.createClient(
          client("c1", { scopeCutoffs: [{ scope: "gone", notBefore: T0 + 2000 }], tokensNotBefore: T0 + 1000 }),
          audit(1),
        );
        await target.createClient(
          client("B-2", { secrets: [secret("s_old", T0 - MINUTE, T0 + HOUR), { ...secret("s_new", T0), lastUsedTime: T0 + 5 }] }),
        );
        await target.createClient(client("gone"));
        await target.deleteClient("gone", audit(2), { tokensNotBefore: T0 + 3000, expireTime: T0 + HOUR });
        await target.updateSigningKeys(
          () => ({
            upsert: [
              key("k-cur", T0),
              key("k-next", T0 + 1, "next"),
              { ...key("k-old", T0 - HOUR, "retired", "RS256", T0 - MINUTE), privateKey: '{"kek":"k1","iv":"x","ct":"y"}' },
            ],
            remove: [],
            result: undefined,
          }),
          () => audit(3),
        );
        for (const jti of ["j-b", "j-a", "J-c"]) await target.revokeToken(jti, "c1", T0 + HOUR);
        await target.setMeta("bootstrap_client_id", "c1", false);
        await target.setMeta("z", "", false);
      }

      const records = async (from: Storage) => {
        const out: StoreRecord[] = [];
        for await (const batch of from.exportRecords()) out.push(...batch);
        return out;
      };

      it("exportRecords yields every record once, each kind in key order, the audit trail with its ids", async () => {
        await fill(storage);
        const all = await records(storage);
        const kinds = all.map((r) => r.kind);
        expect(kinds).toEqual(
          [...kinds].sort(
            (a, b) =>
              ["meta", "signing_key", "client", "client_tombstone", "revoked_token", "audit_event"].indexOf(a) -
              ["meta", "signing_key", "client", "client_tombstone", "revoked_token", "audit_event"].indexOf(b),
          ),
        );
        const keysOf = (kind: StoreRecord["kind"]) =>
          all.flatMap((r) =>
            r.kind !== kind
              ? []
              : [
                  r.kind === "meta"
                    ? r.key
                    : r.kind === "signing_key"
                      ? r.key.kid
                      : r.kind === "client"
                        ? r.client.clientId
                        : r.kind === "client_tombstone"
                          ? r.clientId
                          : r.kind === "revoked_token"
                            ? r.jti
                            : String(r.event.eventId),
                ],
          );
        expect(keysOf("meta")).toEqual(["bootstrap_client_id", "z"]);
        expect(keysOf("signing_key")).toEqual(["k-cur", "k-next", "k-old"]);
        expect(keysOf("client")).toEqual(["B-2", "c1"]);
        expect(keysOf("client_tombstone")).toEqual(["gone"]);
        expect(keysOf("revoked_token")).toEqual(["J-c", "j-a", "j-b"]);
        const events = await storage.listAuditEvents(undefined, 10);
        expect(keysOf("audit_event")).toEqual(events.map((e) => String(e.eventId)).reverse());
      });

      it("importRecords into an empty store holds exactly what was exported: equal digests, equal reads, keys exactly as stored", async () => {
        await fill(storage);
        const other = await open();
        try {
          await other.storage.importRecords(storage.exportRecords(), { replace: false });
          expect(await digestOf(other.storage.exportRecords())).toEqual(await digestOf(storage.exportRecords()));
          for (const id of ["c1", "B-2"])
            expect(plain((await other.storage.getClient(id))!)).toEqual(plain((await storage.getClient(id))!));
          expect(await other.storage.listSigningKeys()).toEqual(await storage.listSigningKeys());
          expect(await other.storage.listAuditEvents(undefined, 10)).toEqual(await storage.listAuditEvents(undefined, 10));
          expect(await other.storage.isTokenRevoked("j-a")).toBe(true);
          expect(await other.storage.getMeta("bootstrap_client_id")).toBe("c1");
          // The tombstone came along: the id re-created starts after its cut-off.
          expect((await other.storage.createClient(client("gone"))).tokensNotBefore).toBe(T0 + 3000);
        } finally {
          await other.cleanup();
        }
      });

      it("clients without secrets keep their auth method, keys, jwks_uri and federated credentials through export and import", async () => {
        const jwk = { kty: "EC", crv: "P-256", x: "x-k1", y: "y-k1", kid: "k1", use: "sig" };
        const rule: FederatedCredential = {
          credentialId: "fc_1",
          name: "pods",
          issuer: "https://issuer.example",
          subject: "system:serviceaccount:ns:sa",
          keySource: { kind: "jwks", keys: [jwk] },
          audience: "https://tessera.example",
          conditions: [{ claim: "repository_id", values: ["42"] }],
          maxAgeSeconds: 600,
          requireJti: true,
          createTime: T0,
        };
        await storage.createClient(
          client("pk", { authMethod: "private_key_jwt", secrets: [], keys: [{ kid: "k1", jwk, createTime: T0 }] }),
        );
        await storage.createClient(
          client("uri", { authMethod: "private_key_jwt", secrets: [], jwksUri: "https://keys.example/jwks.json" }),
        );
        await storage.createClient(client("fed", { authMethod: "federated", secrets: [], federatedCredentials: [rule] }));
        const other = await open();
        try {
          await other.storage.importRecords(storage.exportRecords(), { replace: false });
          for (const id of ["pk", "uri", "fed"])
            expect(plain((await other.storage.getClient(id))!)).toEqual(plain((await storage.getClient(id))!));
          expect(await other.storage.getClient("fed")).toMatchObject({ authMethod: "federated", federatedCredentials: [rule] });
        } finally {
          await other.cleanup();
        }
      });

      it("an audit event written after an import gets a higher id than every imported one", async () => {
        await fill(storage);
        const other = await open();
        try {
          await other.storage.importRecords(storage.exportRecords(), { replace: false });
          const imported = Math.max(...(await other.storage.listAuditEvents(undefined, 10)).map((e) => e.eventId!));
          await other.storage.setMeta("after", "x", false);
          await other.storage.deleteClient("c1", {
            time: T0,
            actor: "a",
            action: "client.delete",
            target: "c1",
            changes: {},
            origin: "local",
          });
          const [latest] = await other.storage.listAuditEvents(undefined, 1);
          expect(latest!.eventId).toBeGreaterThan(imported);
        } finally {
          await other.cleanup();
        }
      });

      it("importRecords refuses a store that holds anything with StoreNotEmptyError, changing nothing; with replace it holds the import alone", async () => {
        await fill(storage);
        const other = await open();
        try {
          await other.storage.createClient(client("already-here"));
          const err = await other.storage.importRecords(storage.exportRecords(), { replace: false }).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(StoreNotEmptyError);
          expect((err as StoreNotEmptyError).found).toEqual({ client: 1 });
          expect(await other.storage.listClients("", 10)).toHaveLength(1);
          await other.storage.importRecords(storage.exportRecords(), { replace: true });
          expect(await other.storage.getClient("already-here")).toBeUndefined();
          expect(await digestOf(other.storage.exportRecords())).toEqual(await digestOf(storage.exportRecords()));
        } finally {
          await other.cleanup();
        }
      });

      it("an import whose source fails midway changes nothing", async () => {
        await fill(storage);
        const other = await open();
        try {
          // Some records, then a failure.
          async function* failing(): AsyncIterable<StoreRecord[]> {
            let n = 0;
            for await (const batch of storage.exportRecords()) {
              yield batch;
              if (++n === 2) break;
            }
            throw new Error("the source went away");
          }
          await expect(other.storage.importRecords(failing(), { replace: false })).rejects.toThrow("the source went away");
          expect(await records(other.storage)).toEqual([]);
          // And the store is usable afterwards.
          await other.storage.importRecords(storage.exportRecords(), { replace: false });
          expect((await other.storage.getClient("c1"))?.clientId).toBe("c1");
        } finally {
          await other.cleanup();
        }
      });
    });
  });
}

/** Cases for stores that several instances share: what one commits, the others must agree with. */
function sharedStoreConformance(name: string, make: () => Promise<SharedStore>): void {
  describe(`Storage conformance, one store shared by several instances: ${name}`, () => {
    let store: SharedStore;
    const opened: Storage[] = [];
    const openOne = async () => {
      const s = await store.open();
      opened.push(s);
      return s;
    };

    beforeEach(async () => {
      store = await make();
    });
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
      await store.cleanup();
    });

    it("five instances opening an empty store at once all open it, and each sees what another writes", async () => {
      const all = await Promise.all(Array.from({ length: 5 }, () => openOne()));
      await all[0]!.createClient(client("shared"));
      for (const s of all) expect((await s.getClient("shared"))?.clientId).toBe("shared");
      await all[4]!.setMeta("issuer", "https://issuer.example", false);
      expect(await all[1]!.getMeta("issuer")).toBe("https://issuer.example");
    });

    it("opening a store whose schema is newer than this build is refused with SchemaTooNewError", async () => {
      await (await openOne()).createClient(client("kept"));
      await store.makeSchemaTooNew();
      const refused = await store.open().then(
        (s) => {
          opened.push(s);
          return undefined;
        },
        (err: unknown) => err,
      );
      expect(refused).toBeInstanceOf(SchemaTooNewError);
      expect((refused as Error).message).toMatch(/newer than this Tessera/);
    });

    it("instances deciding signing keys at once agree: exactly one current key, every call sees it or made it", async () => {
      const instances = await Promise.all(Array.from({ length: 4 }, () => openOne()));
      // Each instance, twice, does what a starting replica does: make a current key unless one exists.
      const ensureCurrent = (s: Storage, i: number) =>
        s.updateSigningKeys((keys) => {
          const current = keys.find((k) => k.status === "current");
          if (current) return { upsert: [], remove: [], result: current.kid };
          const mine = key(`k-${i}`, T0 + i, "current");
          return { upsert: [mine], remove: [], result: mine.kid };
        });
      const kids = await Promise.all(instances.flatMap((s, i) => [ensureCurrent(s, i), ensureCurrent(s, i + 10)]));
      expect(new Set(kids).size).toBe(1);
      const stored = await instances[0]!.listSigningKeys();
      expect(stored.map((k) => [k.kid, k.status])).toEqual([[kids[0], "current"]]);
    });

    it("changeToken moves in one instance after another commits a change, and not while only reading", async () => {
      const [a, b] = [await openOne(), await openOne()];
      const before = await b.changeToken();
      await b.getClient("c1");
      await b.listSigningKeys();
      expect(await b.changeToken()).toBe(before);
      await a.createClient(client("c1"));
      const afterCreate = await b.changeToken();
      expect(afterCreate).not.toBe(before);
      for (const change of [
        () => a.updateClient("c1", { disabled: true }, T0 + 1),
        () => a.rotateSecret("c1", secret("s2", T0 + 2), T0 + 2, T0 + 2),
        () => a.revokeToken("j1", "c1", T0 + HOUR),
        () => a.updateSigningKeys(() => ({ upsert: [key("k1", T0)], remove: [], result: undefined })),
        () => a.setMeta("m", "v", true),
        () => a.deleteClient("c1"),
      ]) {
        const last = await b.changeToken();
        await change();
        expect(await b.changeToken()).not.toBe(last);
      }
    });

    it("audit events written from several instances at once never appear below an id already listed", async () => {
      const instances = await Promise.all(Array.from({ length: 3 }, () => openOne()));
      const reader = await openOne();
      // A client per instance: nothing but the store's own ordering relates their writes.
      for (let i = 0; i < instances.length; i++) await instances[0]!.createClient(client(`c${i}`));
      let seenMax = 0;
      const late: number[] = [];
      let writing = true;
      const tail = (async () => {
        const seen = new Set<number>();
        while (writing) {
          for (const e of await reader.listAuditEvents(undefined, 1000)) {
            if (seen.has(e.eventId!)) continue;
            seen.add(e.eventId!);
            // A consumer tailing the trail by id would never see this one.
            if (e.eventId! < seenMax) late.push(e.eventId!);
          }
          seenMax = Math.max(seenMax, ...seen);
        }
      })();
      await Promise.all(
        instances.map(async (s, i) => {
          for (let n = 0; n < 25; n++) {
            await s.updateClient(`c${i}`, { name: `${i}-${n}` }, T0 + n, {
              time: T0 + n,
              actor: `instance-${i}`,
              action: "client.update",
              target: `c${i}`,
              changes: { name: `${i}-${n}` },
              origin: "local",
            });
          }
        }),
      );
      writing = false;
      await tail;
      const events = await reader.listAuditEvents(undefined, 1000);
      expect(events).toHaveLength(75);
      const ids = events.map((e) => e.eventId!);
      expect(ids).toEqual([...ids].sort((x, y) => y - x));
      expect(new Set(ids).size).toBe(75);
      expect(late).toEqual([]);
    });

    it("recordAssertionJti of one client and jti from two instances at once: exactly one is true, for every pair", async () => {
      const [a, b] = await Promise.all([openOne(), openOne()]);
      const pairs = Array.from({ length: 40 }, (_, i) => [`c${i % 4}`, `jti-${i}`] as const);
      const results = await Promise.all(
        pairs.map(async ([clientId, jti]) => {
          const both = await Promise.all([
            a!.recordAssertionJti(clientId, jti, T0 + HOUR, T0),
            b!.recordAssertionJti(clientId, jti, T0 + HOUR, T0),
          ]);
          return both.filter(Boolean).length;
        }),
      );
      expect(results).toEqual(pairs.map(() => 1));
      // Both instances now refuse every pair.
      for (const [clientId, jti] of pairs.slice(0, 5)) {
        expect(await a!.recordAssertionJti(clientId, jti, T0 + HOUR, T0 + 1)).toBe(false);
        expect(await b!.recordAssertionJti(clientId, jti, T0 + HOUR, T0 + 1)).toBe(false);
      }
    });
  });
}
