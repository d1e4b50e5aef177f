import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { createLocalJWKSet, importJWK, type JSONWebKeySet, type JWK, jwtVerify, SignJWT } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ClientExistsError, type ClientRecord, type SigningKeyRecord } from "../../src/core/ports/storage.js";
import { KeyRing, newSigningKeyRecord } from "../../src/keys/key-ring.js";
import { SCHEMA_VERSION, SchemaTooNewError } from "../../src/storage/sqlite/migrations.js";
import { SqliteStorage } from "../../src/storage/sqlite/sqlite-storage.js";
import { clientRecord } from "../helpers/client-record.js";
import { inProcesses } from "../helpers/tessera-process.js";
import { DAY, HOUR, testPolicy } from "../keys/policy.js";
import { storageConformance } from "./conformance.js";

storageConformance(
  "SqliteStorage",
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "tessera-sqlite-"));
    const storage = SqliteStorage.open(join(dir, "tessera.db"));
    return {
      storage,
      cleanup: async () => {
        await storage.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  [],
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "tessera-sqlite-"));
    const path = join(dir, "tessera.db");
    return {
      open: async () => SqliteStorage.open(path),
      makeSchemaTooNew: async () => {
        const db = new Database(path);
        db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
        db.close();
      },
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
);

const T0 = Date.parse("2030-01-02T03:04:05.678Z");
const ISSUER = "https://tessera.example";
const SQLITE_MODULE = fileURLToPath(new URL("../../src/storage/sqlite/sqlite-storage.ts", import.meta.url));
const KEY_RING_MODULE = fileURLToPath(new URL("../../src/keys/key-ring.ts", import.meta.url));

function client(clientId: string, name = "a client"): ClientRecord {
  return clientRecord(clientId, {
    name,
    createTime: T0,
    updateTime: T0,
    secrets: [{ secretId: `sec_${name}`, hash: new Uint8Array(32).fill(7), createTime: T0, expireTime: null, lastUsedTime: null }],
  });
}

function tables(path: string): string[] {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
  } finally {
    db.close();
  }
}

function userVersion(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return db.pragma("user_version", { simple: true }) as number;
  } finally {
    db.close();
  }
}

describe("SqliteStorage on a file", () => {
  let dir: string;
  let path: string;
  const open: SqliteStorage[] = [];
  const openStorage = () => {
    const s = SqliteStorage.open(path);
    open.push(s);
    return s;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "tessera-sqlite-"));
    path = join(dir, "nested", "dir", "tessera.db");
  });
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("creates missing folders and turns on WAL journal mode", () => {
    openStorage();
    const db = new Database(path);
    try {
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    } finally {
      db.close();
    }
  });

  it("two instances on one file see each other's writes at once", async () => {
    const a = openStorage();
    const b = openStorage();
    await a.createClient(client("shared"));
    expect((await b.getClient("shared"))?.name).toBe("a client");
    await b.updateClient("shared", { name: "renamed by b" }, T0 + 1);
    expect((await a.getClient("shared"))?.name).toBe("renamed by b");
    await a.updateSigningKeys(() => ({ upsert: [signingKey("k1")], remove: [], result: undefined }));
    expect((await b.listSigningKeys()).map((k) => k.kid)).toEqual(["k1"]);
  });

  it("two instances on one file: a revocation written by one is seen by the other at once", async () => {
    const a = openStorage();
    const b = openStorage();
    expect(await b.isTokenRevoked("jti-1")).toBe(false);
    await a.revokeToken("jti-1", "shared", T0 + 60_000);
    expect(await b.isTokenRevoked("jti-1")).toBe(true);
    expect(await b.pruneRevokedTokens(T0 + 60_001)).toBe(1);
    expect(await a.isTokenRevoked("jti-1")).toBe(false);
  });

  it("two instances on one file: a cut-off written by one is seen by the other at once", async () => {
    const a = openStorage();
    const b = openStorage();
    await a.createClient(client("shared"));
    await b.updateClient("shared", { tokensNotBefore: T0 + 1000 }, T0);
    expect((await a.getClient("shared"))?.tokensNotBefore).toBe(T0 + 1000);
  });

  it("changeToken changes in one instance after another commits, and not otherwise", async () => {
    const a = openStorage();
    const b = openStorage();
    const before = await b.changeToken();
    expect(await b.changeToken()).toBe(before); // reading changes nothing
    await a.createClient(client("c1"));
    const afterCreate = await b.changeToken();
    expect(afterCreate).not.toBe(before);
    await b.getClient("c1");
    expect(await b.changeToken()).toBe(afterCreate);
    await a.setMeta("k", "v", true);
    expect(await b.changeToken()).not.toBe(afterCreate);
  });

  it("reopening an existing file keeps clients, keys and meta", async () => {
    const first = SqliteStorage.open(path);
    await first.createClient(client("kept"));
    await first.updateSigningKeys(() => ({ upsert: [signingKey("k1")], remove: [], result: undefined }));
    await first.setMeta("issuer", "https://issuer.example", false);
    await first.close();

    const again = openStorage();
    const got = await again.getClient("kept");
    expect(got?.name).toBe("a client");
    expect([...got!.secrets[0]!.hash]).toEqual(new Array(32).fill(7));
    expect((await again.listSigningKeys()).map((k) => [k.kid, k.status])).toEqual([["k1", "current"]]);
    expect(await again.getMeta("issuer")).toBe("https://issuer.example");
    expect(userVersion(path)).toBe(SCHEMA_VERSION);
  });

  it("concurrent createClient of one id from two instances: exactly one succeeds", async () => {
    const a = openStorage();
    const b = openStorage();
    const results = await Promise.allSettled([a.createClient(client("race", "from a")), b.createClient(client("race", "from b"))]);
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toBeInstanceOf(ClientExistsError);
    const winner = results[0]!.status === "fulfilled" ? "from a" : "from b";
    expect((await a.getClient("race"))?.name).toBe(winner);
    expect((await b.getClient("race"))?.secrets.map((s) => s.secretId)).toEqual([`sec_${winner}`]);
  });

  it("createClient racing from four processes: exactly one succeeds, the others get ClientExistsError", async () => {
    // Migrate first so the processes race on the insert alone.
    await SqliteStorage.open(path).close();
    const code = `
      const { SqliteStorage } = await import(process.env.MODULE);
      const storage = SqliteStorage.open(process.env.DB);
      await atTheStart();
      const name = "child " + process.env.CHILD;
      try {
        await storage.createClient({
          clientId: "race", name, scopes: [], audiences: [], tokenTtlSeconds: 60, disabled: false,
          createTime: 1, updateTime: 1, tokensNotBefore: null, scopeCutoffs: [],
          secrets: [{ secretId: "sec_" + process.env.CHILD, hash: new Uint8Array(32), createTime: 1, expireTime: null, lastUsedTime: null }],
          authMethod: "client_secret", keys: [], jwksUri: null, federatedCredentials: [],
        });
        console.log("created");
      } catch (err) {
        console.log(err.name);
      }
      await storage.close();
    `;
    const outputs = await inProcesses(4, code, { MODULE: SQLITE_MODULE, DB: path });
    expect(outputs.filter((o) => o === "created")).toHaveLength(1);
    expect(outputs.filter((o) => o === "ClientExistsError")).toHaveLength(3);
    const winner = outputs.indexOf("created");
    const stored = await openStorage().getClient("race");
    expect(stored?.name).toBe(`child ${winner}`);
    expect(stored?.secrets.map((s) => s.secretId)).toEqual([`sec_${winner}`]);
  }, 120_000); // four processes each loading TypeScript: seconds apiece on a loaded machine

  it("processes opening a new file at once all migrate it and agree on one signing key", async () => {
    const code = `
      const { SqliteStorage } = await import(process.env.MODULE);
      const { KeyRing } = await import(process.env.KEY_RING);
      await atTheStart();
      const storage = SqliteStorage.open(process.env.DB);
      const policy = { alg: "ES256", rotationPeriodMs: 30 * 86400000, prepublishMs: 1800000, retiredPublishMs: 86700000 };
      const ring = await KeyRing.open(storage, { policy, clock: () => Date.now() });
      console.log(ring.current.kid);
      await storage.close();
    `;
    const kids = await inProcesses(4, code, { MODULE: SQLITE_MODULE, KEY_RING: KEY_RING_MODULE, DB: path });
    expect(new Set(kids).size).toBe(1);
    const keys = await openStorage().listSigningKeys();
    // One current key (the one every process signs with) and one next key, not one pair each.
    expect(keys.filter((k) => k.status === "current").map((k) => k.kid)).toEqual([kids[0]]);
    expect(keys.map((k) => k.status).sort()).toEqual(["current", "next"]);
    expect(userVersion(path)).toBe(SCHEMA_VERSION);
  }, 120_000); // four processes each loading TypeScript: seconds apiece on a loaded machine
});

describe("SqliteStorage.purgeDeletedData", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "tessera-purge-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const holding = (needle: string) => readdirSync(dir).filter((f) => readFileSync(join(dir, f)).includes(Buffer.from(needle)));

  it("leaves an overwritten key's old text in none of the files (db, -wal, -shm), while another connection stays open", async () => {
    const path = join(dir, "tessera.db");
    const storage = SqliteStorage.open(path);
    const other = SqliteStorage.open(path); // keeps the -wal from being removed on close
    const secretText = `PLAIN-PRIVATE-KEY-${"x".repeat(40)}`;
    const k: SigningKeyRecord = {
      ...newSigningKeyRecord("ES256", "current", T0),
      privateKey: JSON.stringify({ kty: "EC", d: secretText }),
    };
    await storage.updateSigningKeys(() => ({ upsert: [k], remove: [], result: undefined }));
    await storage.updateSigningKeys(() => ({
      upsert: [{ ...k, privateKey: '{"enc":"A256GCM","ct":"sealed"}' }],
      remove: [],
      result: undefined,
    }));
    expect(holding(secretText).length).toBeGreaterThan(0); // what the purge is for

    await storage.purgeDeletedData();
    expect(holding(secretText)).toEqual([]);
    expect((await other.listSigningKeys())[0]!.privateKey).toBe('{"enc":"A256GCM","ct":"sealed"}');
    await other.close();
    await storage.close();
    expect(holding(secretText)).toEqual([]);
  });
});

describe("SqliteStorage migrations", () => {
  let dir: string;
  let path: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "tessera-sqlite-"));
    path = join(dir, "tessera.db");
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("migrates a file with user_version 0 and no tables to SCHEMA_VERSION", async () => {
    const db = new Database(path);
    expect(db.pragma("user_version", { simple: true })).toBe(0);
    db.close();
    expect(tables(path)).toEqual([]);

    const storage = SqliteStorage.open(path);
    try {
      expect(userVersion(path)).toBe(SCHEMA_VERSION);
      expect(tables(path)).toEqual(expect.arrayContaining(["client_secrets", "clients", "meta", "signing_keys"]));
      await storage.createClient(client("works"));
      expect((await storage.getClient("works"))?.clientId).toBe("works");
    } finally {
      await storage.close();
    }
  });

  it("upgrades a schema version 3 file: its clients read with no scope cut-offs, tombstones work", async () => {
    // Version 3 exactly as it was released: migrate a fresh file, then undo versions 5 and 4 by hand.
    await SqliteStorage.open(path).close();
    const db = new Database(path);
    db.exec(
      "DROP TABLE assertion_jtis; ALTER TABLE clients DROP COLUMN auth_method; ALTER TABLE clients DROP COLUMN jwks_uri; " +
        "ALTER TABLE clients DROP COLUMN client_keys; ALTER TABLE clients DROP COLUMN federated_credentials;",
    );
    db.exec("DROP TABLE client_tombstones; ALTER TABLE clients DROP COLUMN scope_cutoffs;");
    db.prepare(
      "INSERT INTO clients (client_id, name, scopes, audiences, token_ttl_seconds, disabled, create_time, update_time, tokens_not_before) VALUES ('old', 'old', '[\"read\"]', '[]', 60, 0, ?, ?, NULL)",
    ).run(T0, T0);
    db.pragma("user_version = 3");
    db.close();

    const storage = SqliteStorage.open(path);
    try {
      expect(userVersion(path)).toBe(SCHEMA_VERSION);
      expect(SCHEMA_VERSION).toBe(5);
      expect(await storage.getClient("old")).toMatchObject({
        scopes: ["read"],
        scopeCutoffs: [],
        tokensNotBefore: null,
        authMethod: "client_secret",
        keys: [],
      });
      await storage.updateClient("old", { scopes: [], scopeRemoval: { notBefore: T0 + 1000, forgetBefore: 0 } }, T0);
      expect((await storage.getClient("old"))!.scopeCutoffs).toEqual([{ scope: "read", notBefore: T0 + 1000 }]);
      await storage.deleteClient("old", undefined, { tokensNotBefore: T0 + 2000, expireTime: T0 + DAY });
      expect((await storage.createClient(client("old"))).tokensNotBefore).toBe(T0 + 2000);
    } finally {
      await storage.close();
    }
  });

  it("refuses a file written by a newer schema with SchemaTooNewError, leaving it as it was", () => {
    const db = new Database(path);
    db.exec("CREATE TABLE future_table (x INTEGER)");
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();

    expect(() => SqliteStorage.open(path)).toThrow(SchemaTooNewError);
    expect(() => SqliteStorage.open(path)).toThrow(new RegExp(`schema version ${SCHEMA_VERSION + 1}`));
    expect(userVersion(path)).toBe(SCHEMA_VERSION + 1);
    expect(tables(path)).toEqual(["future_table"]);
  });

  it("upgrades a schema version 1 file: clients intact, the old current key still signs and its tokens verify", async () => {
    const oldKey = newSigningKeyRecord("ES256", "current", T0 - DAY);
    const retired = newSigningKeyRecord("EdDSA", "current", T0 - 3 * DAY);
    const db = new Database(path);
    db.exec(SCHEMA_V1);
    db.pragma("user_version = 1");
    db.prepare(
      "INSERT INTO clients (client_id, name, scopes, audiences, token_ttl_seconds, disabled, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    ).run("old-client", "Old client", '["read","write"]', '["https://api.example"]', 900, 0, T0 - 2 * DAY, T0 - DAY);
    db.prepare(
      "INSERT INTO client_secrets (secret_id, client_id, hash, create_time, expire_time, last_used_time) VALUES (?, ?, ?, ?, ?, ?)",
    ).run("sec_old", "old-client", Buffer.alloc(32, 9), T0 - 2 * DAY, null, T0 - HOUR);
    const insertKey = db.prepare(
      "INSERT INTO signing_keys (kid, alg, private_jwk, public_jwk, status, create_time, retire_time) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    insertKey.run(oldKey.kid, oldKey.alg, oldKey.privateKey, oldKey.publicJwk, "current", oldKey.createTime, null);
    insertKey.run(retired.kid, retired.alg, retired.privateKey, retired.publicJwk, "retired", retired.createTime, T0 - DAY);
    db.prepare("INSERT INTO meta (key, value) VALUES (?, ?)").run("issuer", ISSUER);
    db.close();
    // A token the version-1 server signed with its current key.
    const iat = Math.floor((T0 - HOUR) / 1000);
    const oldToken = await new SignJWT({ iss: ISSUER, sub: "old-client", client_id: "old-client", iat, exp: iat + 2 * 3600, jti: "j1" })
      .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: oldKey.kid })
      .sign(await importJWK(JSON.parse(oldKey.privateKey) as JWK, "ES256"));

    const storage = SqliteStorage.open(path);
    try {
      expect(userVersion(path)).toBe(SCHEMA_VERSION);
      expect(tables(path)).toEqual(expect.arrayContaining(["clients", "client_secrets", "meta", "revoked_tokens", "signing_keys"]));
      const c = await storage.getClient("old-client");
      expect(c).toMatchObject({
        clientId: "old-client",
        name: "Old client",
        scopes: ["read", "write"],
        audiences: ["https://api.example"],
        tokenTtlSeconds: 900,
        disabled: false,
        createTime: T0 - 2 * DAY,
        updateTime: T0 - DAY,
        tokensNotBefore: null,
        scopeCutoffs: [],
      });
      expect(c!.secrets.map((s) => ({ ...s, hash: [...s.hash] }))).toEqual([
        { secretId: "sec_old", hash: new Array(32).fill(9), createTime: T0 - 2 * DAY, expireTime: null, lastUsedTime: T0 - HOUR },
      ]);
      expect(await storage.getMeta("issuer")).toBe(ISSUER);

      const migrated = Object.fromEntries((await storage.listSigningKeys()).map((k) => [k.kid, k]));
      expect(migrated).toEqual({
        [oldKey.kid]: { ...oldKey, activateTime: oldKey.createTime },
        [retired.kid]: { ...retired, status: "retired", activateTime: retired.createTime, retireTime: T0 - DAY },
      });

      const ring = await KeyRing.open(storage, { policy: testPolicy("ES256"), clock: () => T0 });
      expect(ring.current).toEqual({ kid: oldKey.kid, alg: "ES256" });
      const verifyAt = (token: string) =>
        jwtVerify(token, createLocalJWKSet(ring.jwks as JSONWebKeySet), { issuer: ISSUER, typ: "at+jwt", currentDate: new Date(T0) });
      expect((await verifyAt(oldToken)).protectedHeader.kid).toBe(oldKey.kid);
      const fresh = ring.sign({ iss: ISSUER, sub: "old-client", iat: Math.floor(T0 / 1000), exp: Math.floor(T0 / 1000) + 60 });
      expect((await verifyAt(fresh)).protectedHeader.kid).toBe(oldKey.kid);
      // The key ring added a next key; the old one stays current.
      const after = await storage.listSigningKeys();
      expect(after.filter((k) => k.status === "current").map((k) => k.kid)).toEqual([oldKey.kid]);
      expect(after.filter((k) => k.status === "next")).toHaveLength(1);

      // The new tables work on the upgraded file.
      await storage.revokeToken("j1", "old-client", (iat + 7200) * 1000);
      expect(await storage.isTokenRevoked("j1")).toBe(true);
      expect((await storage.updateClient("old-client", { tokensNotBefore: T0 }, T0))?.tokensNotBefore).toBe(T0);
    } finally {
      await storage.close();
    }
  });

  it("the one-current and one-next constraints hold on an upgraded file", async () => {
    const db = new Database(path);
    db.exec(SCHEMA_V1);
    db.pragma("user_version = 1");
    db.close();
    const storage = SqliteStorage.open(path);
    try {
      const k = (kid: string, status: "current" | "next"): SigningKeyRecord => ({ ...signingKey(kid), status });
      await storage.updateSigningKeys(() => ({ upsert: [k("a", "current"), k("b", "next")], remove: [], result: undefined }));
      await expect(storage.updateSigningKeys(() => ({ upsert: [k("c", "current")], remove: [], result: undefined }))).rejects.toThrow();
      await expect(storage.updateSigningKeys(() => ({ upsert: [k("d", "next")], remove: [], result: undefined }))).rejects.toThrow();
      expect((await storage.listSigningKeys()).map((r) => r.kid).sort()).toEqual(["a", "b"]);
    } finally {
      await storage.close();
    }
  });

  it("opening an up-to-date file twice migrates nothing again", async () => {
    await SqliteStorage.open(path).close();
    const before = tables(path);
    const again = SqliteStorage.open(path);
    await again.close();
    expect(tables(path)).toEqual(before);
    expect(userVersion(path)).toBe(SCHEMA_VERSION);
  });
});

function signingKey(kid: string): SigningKeyRecord {
  return {
    kid,
    alg: "ES256",
    privateKey: "{}",
    publicJwk: "{}",
    status: "current",
    createTime: T0,
    activateTime: T0,
    retireTime: null,
  };
}

/** Migration 1 exactly as released (src/storage/sqlite/migrations.ts): the version-1 file format. */
const SCHEMA_V1 = `CREATE TABLE clients (
     client_id         TEXT PRIMARY KEY,
     name              TEXT NOT NULL,
     scopes            TEXT NOT NULL,  -- JSON array of strings
     audiences         TEXT NOT NULL,  -- JSON array of strings
     token_ttl_seconds INTEGER NOT NULL,
     disabled          INTEGER NOT NULL DEFAULT 0,
     create_time       INTEGER NOT NULL,
     update_time       INTEGER NOT NULL
   ) STRICT;
   CREATE TABLE client_secrets (
     secret_id      TEXT PRIMARY KEY,
     client_id      TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
     hash           BLOB NOT NULL,
     create_time    INTEGER NOT NULL,
     expire_time    INTEGER,
     last_used_time INTEGER
   ) STRICT;
   CREATE INDEX client_secrets_by_client ON client_secrets(client_id);
   CREATE TABLE signing_keys (
     kid         TEXT PRIMARY KEY,
     alg         TEXT NOT NULL,
     private_jwk TEXT NOT NULL,
     public_jwk  TEXT NOT NULL,
     status      TEXT NOT NULL CHECK (status IN ('current', 'retired')),
     create_time INTEGER NOT NULL,
     retire_time INTEGER
   ) STRICT;
   CREATE UNIQUE INDEX one_current_signing_key ON signing_keys(status) WHERE status = 'current';
   CREATE TABLE meta (
     key   TEXT PRIMARY KEY,
     value TEXT NOT NULL
   ) STRICT;`;
