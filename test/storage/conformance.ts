import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ClientExistsError,
  type ClientRecord,
  type SecretRecord,
  type SigningKeyRecord,
  type Storage,
} from "../../src/storage/storage.js";

const T0 = Date.parse("2030-01-02T03:04:05.678Z");
const MINUTE = 60_000;

/** A secret whose hash bytes are derived from its id, so mix-ups between secrets show. */
function secret(secretId: string, createTime: number, expireTime: number | null = null): SecretRecord {
  const hash = new Uint8Array(32);
  for (let i = 0; i < hash.length; i++) hash[i] = (secretId.charCodeAt(i % secretId.length) + i * 7) & 255;
  return { secretId, hash, createTime, expireTime, lastUsedTime: null };
}

function client(clientId: string, overrides: Partial<ClientRecord> = {}): ClientRecord {
  return {
    clientId,
    name: `client ${clientId}`,
    scopes: ["read", "write"],
    audiences: ["https://api.example"],
    tokenTtlSeconds: 3600,
    disabled: false,
    createTime: T0,
    updateTime: T0,
    secrets: [secret(`sec_${clientId}`, T0)],
    ...overrides,
  };
}

function key(kid: string, createTime: number, alg = "ES256"): SigningKeyRecord {
  return {
    kid,
    alg,
    privateJwk: JSON.stringify({ kty: "EC", d: `private-${kid}` }),
    publicJwk: JSON.stringify({ kty: "EC", kid }),
    status: "current",
    createTime,
    retireTime: null,
  };
}

/** Secrets as plain data with hashes as byte arrays, so adapters returning Buffer or Uint8Array compare alike. */
function plainSecrets(secrets: SecretRecord[]): Array<Omit<SecretRecord, "hash"> & { hash: number[] }> {
  return secrets.map((s) => ({ ...s, hash: [...s.hash] }));
}

function plain(c: ClientRecord): Omit<ClientRecord, "secrets"> & { secrets: ReturnType<typeof plainSecrets> } {
  return { ...c, secrets: plainSecrets(c.secrets) };
}

/**
 * The behaviour every Storage adapter must have. An adapter's test file calls this with a
 * function that opens a fresh, empty store.
 */
export function storageConformance(
  name: string,
  open: () => Promise<{ storage: Storage; cleanup(): Promise<void> }>,
): void {
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
        const used = async () =>
          Object.fromEntries((await storage.getClient("c1"))!.secrets.map((s) => [s.secretId, s.lastUsedTime]));

        await storage.recordSecretUse(new Map([["s1", T0 + 2 * MINUTE]]));
        expect(await used()).toEqual({ s1: T0 + 2 * MINUTE, s2: null });

        await storage.recordSecretUse(new Map([["s1", T0 + MINUTE], ["s2", T0 + 3 * MINUTE]]));
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
      const currentKeys = async () => (await storage.listSigningKeys()).filter((k) => k.status === "current");

      it("ensureCurrentKey installs the candidate when there is no key, without asking keep()", async () => {
        let keepCalls = 0;
        const k = key("k1", T0);
        const got = await storage.ensureCurrentKey(
          () => {
            keepCalls++;
            return true;
          },
          () => k,
          T0,
        );
        expect(keepCalls).toBe(0);
        expect(got).toEqual(k);
        expect(await storage.listSigningKeys()).toEqual([k]);
      });

      it("ensureCurrentKey keeps the current key when keep() approves, without calling candidate()", async () => {
        const k1 = key("k1", T0);
        await storage.ensureCurrentKey(() => true, () => k1, T0);
        const seen: string[] = [];
        const got = await storage.ensureCurrentKey(
          (cur) => {
            seen.push(cur.kid);
            return true;
          },
          () => {
            throw new Error("candidate() must not be called when the current key is kept");
          },
          T0 + MINUTE,
        );
        expect(seen).toEqual(["k1"]);
        expect(got).toEqual(k1);
        expect(await storage.listSigningKeys()).toEqual([k1]);
      });

      it("ensureCurrentKey retires the current key at now when keep() refuses, and installs the candidate", async () => {
        const k1 = key("k1", T0);
        await storage.ensureCurrentKey(() => true, () => k1, T0);
        const k2 = key("k2", T0 + MINUTE, "EdDSA");
        const got = await storage.ensureCurrentKey((cur) => cur.alg === "EdDSA", () => k2, T0 + 2 * MINUTE);
        expect(got).toEqual(k2);

        const byKid = Object.fromEntries((await storage.listSigningKeys()).map((k) => [k.kid, k]));
        expect(byKid).toEqual({ k1: { ...k1, status: "retired", retireTime: T0 + 2 * MINUTE }, k2 });
      });

      it("there is only ever one current key, and retired keys stay retired", async () => {
        for (let i = 1; i <= 4; i++) {
          await storage.ensureCurrentKey(() => false, () => key(`k${i}`, T0 + i), T0 + i);
          const current = await currentKeys();
          expect(current.map((k) => k.kid)).toEqual([`k${i}`]);
        }
        const all = await storage.listSigningKeys();
        expect(all).toHaveLength(4);
        for (const k of all.filter((k) => k.kid !== "k4")) {
          expect(k.status).toBe("retired");
          // Retired when the next key took over, not later.
          expect(k.retireTime).toBe(Number(k.kid.slice(1)) + 1 + T0);
        }
      });

      it("listSigningKeys is empty on a new store", async () => {
        expect(await storage.listSigningKeys()).toEqual([]);
        expect(await currentKeys()).toEqual([]);
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
  });
}
