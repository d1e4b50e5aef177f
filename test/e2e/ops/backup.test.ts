import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type * as grpc from "@grpc/grpc-js";
import Database from "better-sqlite3";
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../../helpers/eventually.js";
import { getText, postForm } from "../../helpers/http.js";
import { adminToken, bearer, opsClient, unary } from "../../helpers/ops-grpc.js";
import { bootstrap, type Credentials, runTessera, startTessera, type TesseraProcess, tempDir } from "../../helpers/tessera-process.js";
import { basic } from "../../helpers/test-server.js";

const issuer = "http://tessera.backup.test";
let dir: string;
let db: string;
let server: TesseraProcess;
let admin: Credentials;
let tokens: grpc.Client;
let clients: grpc.Client;
let md: Record<string, string>;
const before: Credentials[] = [];
const started: TesseraProcess[] = [];

const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

beforeAll(async () => {
  dir = tempDir("backup");
  db = join(dir, "live", "tessera.db");
  mkdirSync(join(dir, "live"));
  admin = await bootstrap(db);
  server = await startTessera({ db, args: ["--issuer", issuer] });
  started.push(server);
  tokens = opsClient("TokenService", `127.0.0.1:${server.port}`);
  clients = opsClient("ClientAdmin", `127.0.0.1:${server.port}`);
  md = bearer(await adminToken(tokens, admin));
  for (let i = 0; i < 10; i++) {
    const r = await unary<{ client: { client_id: string }; client_secret: string }>(
      clients,
      "CreateClient",
      { client_id: `before-${i}`, name: `before ${i}`, scopes: ["read"] },
      md,
    );
    before.push({ clientId: r.client.client_id, clientSecret: r.client_secret });
  }
});

afterAll(async () => {
  tokens?.close();
  clients?.close();
  await Promise.all(started.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
});

describe("tessera backup", () => {
  const dest = () => join(dir, "backup.db");

  it("copies the live database while the server runs and writes; the copy opens and passes integrity_check", async () => {
    let writing = true;
    let acked = 0;
    const writer = (async () => {
      for (let i = 0; writing && i < 2000; i++) {
        await unary(clients, "CreateClient", { client_id: `during-${i}`, name: `during ${i}`, scopes: ["read"] }, md);
        acked++;
      }
    })();
    // Let the writer get going, so the backup starts in the middle of writes.
    await eventually("5 acknowledged writes before the backup starts", () => acked >= 5);
    const ackedAtStart = acked;
    const r = await runTessera(["backup", dest(), "--db", db]);
    const ackedDuring = acked - ackedAtStart;
    writing = false;
    await writer;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^Backed up .* to .*backup\.db \(\d+ pages, integrity ok\)\.\n$/);
    expect(ackedDuring, "the server acknowledged writes while the backup ran").toBeGreaterThan(0);

    const copy = new Database(dest(), { readonly: true });
    try {
      expect(copy.pragma("integrity_check", { simple: true })).toBe("ok");
      expect(copy.pragma("foreign_key_check")).toEqual([]);
      for (const c of before) {
        expect(copy.prepare("SELECT name FROM clients WHERE client_id = ?").get(c.clientId)).toBeDefined();
        expect((copy.prepare("SELECT count(*) AS n FROM client_secrets WHERE client_id = ?").get(c.clientId) as { n: number }).n).toBe(1);
      }
      // A consistent snapshot: every client in it is complete.
      expect(copy.prepare("SELECT client_id FROM clients WHERE client_id NOT IN (SELECT client_id FROM client_secrets)").all()).toEqual([]);
      expect((copy.prepare("SELECT count(*) AS n FROM signing_keys").get() as { n: number }).n).toBeGreaterThanOrEqual(2);
    } finally {
      copy.close();
    }
  });

  it("a server started on the backup serves tokens for the clients created before it, signed with the same keys", async () => {
    const restored = join(dir, "restored.db");
    writeFileSync(restored, readFileSync(dest()));
    const s = await startTessera({ db: restored, args: ["--issuer", issuer] });
    started.push(s);
    const liveJwks = JSON.parse(await getText(`${server.url}/.well-known/jwks.json`)) as JSONWebKeySet;
    const restoredJwks = JSON.parse(await getText(`${s.url}/.well-known/jwks.json`)) as JSONWebKeySet;
    expect(restoredJwks).toEqual(liveJwks);
    for (const c of [before[0]!, before[9]!, admin]) {
      const r = await postForm(
        `${s.url}/oauth/token`,
        { grant_type: "client_credentials" },
        { authorization: basic(c.clientId, c.clientSecret) },
      );
      expect(r.status).toBe(200);
      const { payload } = await jwtVerify(r.body.access_token as string, createLocalJWKSet(liveJwks), { issuer });
      expect(payload.client_id).toBe(c.clientId);
    }
    const wrong = await postForm(
      `${s.url}/oauth/token`,
      { grant_type: "client_credentials" },
      { authorization: basic(before[0]!.clientId, before[1]!.clientSecret) },
    );
    expect(wrong.status).toBe(401);
    expect(await s.stop()).toEqual({ code: 0, signal: null });
  });

  it("refuses to overwrite an existing file without --force (exit 2, file untouched); --force replaces it", async () => {
    const hash = sha256(dest());
    await unary(clients, "CreateClient", { client_id: "after-first-backup", name: "after", scopes: ["read"] }, md);
    const r = await runTessera(["backup", dest(), "--db", db]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(`tessera: ${dest()} exists; choose another file or pass --force.\n`);
    expect(sha256(dest())).toBe(hash);

    const f = await runTessera(["backup", dest(), "--db", db, "--force"]);
    expect(f.code, f.stderr).toBe(0);
    const copy = new Database(dest(), { readonly: true });
    try {
      expect(copy.pragma("integrity_check", { simple: true })).toBe("ok");
      expect(copy.prepare("SELECT client_id FROM clients WHERE client_id = 'after-first-backup'").get()).toBeDefined();
    } finally {
      copy.close();
    }
  });

  it("a --db that does not exist: one clear sentence, exit 2, nothing written", async () => {
    const out = join(dir, "never.db");
    const r = await runTessera(["backup", out, "--db", join(dir, "missing", "tessera.db")]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      `tessera: There is no database file at ${join(dir, "missing", "tessera.db")} (from --db); give its path with --db or TESSERA_DB.\n`,
    );
    expect(existsSync(out)).toBe(false);
  });

  it("a --db that is not a database: a clear sentence naming it, exit 2", async () => {
    const notDb = join(dir, "notes.txt");
    writeFileSync(notDb, "these are notes, not a database; ".repeat(20));
    const r = await runTessera(["backup", join(dir, "never2.db"), "--db", notDb]);
    expect(r.stderr).not.toMatch(/unexpected error/);
    expect(r.stderr).toContain(notDb);
    expect(r.code).toBe(2);
  });

  it("a --db that is a directory: a clear sentence, exit 2", async () => {
    const r = await runTessera(["backup", join(dir, "never3.db"), "--db", dir]);
    expect(r.stderr).not.toMatch(/unexpected error|disk I\/O error/);
    expect(r.code).toBe(2);
  });

  it("--force replaces an existing file that is not a database", async () => {
    const broken = join(dir, "broken-backup.db");
    writeFileSync(broken, "half a backup".repeat(100));
    const r = await runTessera(["backup", broken, "--db", db, "--force"]);
    expect(r.code, r.stderr).toBe(0);
    const copy = new Database(broken, { readonly: true });
    try {
      expect(copy.pragma("integrity_check", { simple: true })).toBe("ok");
    } finally {
      copy.close();
    }
  });
});
