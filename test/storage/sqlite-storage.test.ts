import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SCHEMA_VERSION, SchemaTooNewError } from "../../src/storage/sqlite/migrations.js";
import { SqliteStorage } from "../../src/storage/sqlite/sqlite-storage.js";
import { ClientExistsError, type ClientRecord } from "../../src/storage/storage.js";
import { storageConformance } from "./conformance.js";

storageConformance("SqliteStorage", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tessera-sqlite-"));
  const storage = SqliteStorage.open(join(dir, "tessera.db"));
  return {
    storage,
    cleanup: async () => {
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

const T0 = Date.parse("2030-01-02T03:04:05.678Z");
const REPO = fileURLToPath(new URL("../../", import.meta.url));
const SQLITE_MODULE = fileURLToPath(new URL("../../src/storage/sqlite/sqlite-storage.ts", import.meta.url));
const KEY_RING_MODULE = fileURLToPath(new URL("../../src/keys/key-ring.ts", import.meta.url));

function client(clientId: string, name = "a client"): ClientRecord {
  return {
    clientId,
    name,
    scopes: ["read"],
    audiences: [],
    tokenTtlSeconds: 3600,
    disabled: false,
    createTime: T0,
    updateTime: T0,
    secrets: [{ secretId: `sec_${name}`, hash: new Uint8Array(32).fill(7), createTime: T0, expireTime: null, lastUsedTime: null }],
  };
}

function tables(path: string): string[] {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map(
      (r) => r.name,
    );
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

/** Runs `code` (an ES module body) in `n` separate Node processes at once; returns each one's stdout. */
async function inProcesses(n: number, code: string, env: Record<string, string>): Promise<string[]> {
  const run = promisify(execFile);
  // All children spin until the same instant, so their database calls really overlap.
  const startAt = String(Date.now() + 2000);
  const children = Array.from({ length: n }, (_, i) =>
    run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
      cwd: REPO,
      env: { ...process.env, ...env, START_AT: startAt, CHILD: String(i) },
      timeout: 15_000,
    }),
  );
  return (await Promise.all(children)).map((r) => r.stdout.trim());
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
    await a.ensureCurrentKey(() => true, () => signingKey("k1"), T0);
    expect((await b.listSigningKeys()).map((k) => k.kid)).toEqual(["k1"]);
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
    await first.ensureCurrentKey(() => true, () => signingKey("k1"), T0);
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
      while (Date.now() < Number(process.env.START_AT)) {}
      const name = "child " + process.env.CHILD;
      try {
        await storage.createClient({
          clientId: "race", name, scopes: [], audiences: [], tokenTtlSeconds: 60, disabled: false,
          createTime: 1, updateTime: 1,
          secrets: [{ secretId: "sec_" + process.env.CHILD, hash: new Uint8Array(32), createTime: 1, expireTime: null, lastUsedTime: null }],
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
  });

  it("processes opening a new file at once all migrate it and agree on one signing key", async () => {
    const code = `
      const { SqliteStorage } = await import(process.env.MODULE);
      const { KeyRing } = await import(process.env.KEY_RING);
      while (Date.now() < Number(process.env.START_AT)) {}
      const storage = SqliteStorage.open(process.env.DB);
      const ring = await KeyRing.open(storage, "ES256", () => Date.now());
      console.log(ring.current.kid);
      await storage.close();
    `;
    const kids = await inProcesses(4, code, { MODULE: SQLITE_MODULE, KEY_RING: KEY_RING_MODULE, DB: path });
    expect(new Set(kids).size).toBe(1);
    const keys = await openStorage().listSigningKeys();
    expect(keys.map((k) => [k.kid, k.status])).toEqual([[kids[0], "current"]]);
    expect(userVersion(path)).toBe(SCHEMA_VERSION);
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

  it("opening an up-to-date file twice migrates nothing again", async () => {
    await SqliteStorage.open(path).close();
    const before = tables(path);
    const again = SqliteStorage.open(path);
    await again.close();
    expect(tables(path)).toEqual(before);
    expect(userVersion(path)).toBe(SCHEMA_VERSION);
  });
});

function signingKey(kid: string) {
  return {
    kid,
    alg: "ES256",
    privateJwk: "{}",
    publicJwk: "{}",
    status: "current" as const,
    createTime: T0,
    retireTime: null,
  };
}
