import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";
import { afterAll, describe, expect, it } from "vitest";
import { getText, postForm } from "../../helpers/http.js";
import { bootstrap, type Credentials, runTessera, startTessera, type TesseraProcess, tempDir } from "../../helpers/tessera-process.js";
import { basic } from "../../helpers/test-server.js";

// Encrypting the signing keys must leave no unencrypted copy of a private key anywhere in the
// database's files: not in free pages of the main file, not in old frames of the -wal, not in
// the -shm. Real servers and the real CLI on real files; the files are read as bytes.

const started: TesseraProcess[] = [];
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function serve(db: string, env: Record<string, string> = {}): Promise<TesseraProcess> {
  const s = await startTessera({ db, env });
  started.push(s);
  return s;
}

/** The private members of every plain (unencrypted) key row, read through SQLite. */
function plainPrivateValues(db: string): string[] {
  const conn = new Database(db, { readonly: true });
  try {
    const rows = conn.prepare("SELECT private_key FROM signing_keys").all() as { private_key: string }[];
    const out: string[] = [];
    for (const r of rows) {
      const jwk = JSON.parse(r.private_key) as Record<string, unknown>;
      if (jwk.enc !== undefined) continue;
      for (const m of ["d", "p", "q", "dp", "dq", "qi"]) if (typeof jwk[m] === "string") out.push(jwk[m] as string);
    }
    return out;
  } finally {
    conn.close();
  }
}

/** The ciphertexts of every encrypted key row. */
function envelopeCiphertexts(db: string): string[] {
  const conn = new Database(db, { readonly: true });
  try {
    const rows = conn.prepare("SELECT private_key FROM signing_keys").all() as { private_key: string }[];
    return rows.map((r) => (JSON.parse(r.private_key) as { ct?: string }).ct).filter((ct): ct is string => ct !== undefined);
  } finally {
    conn.close();
  }
}

/** Every way a base64url private key member could sit in a file: as text (UTF-8 or UTF-16), as standard base64, as raw bytes. */
function encodings(value: string): Buffer[] {
  const raw = Buffer.from(value, "base64url");
  return [Buffer.from(value, "utf8"), Buffer.from(value, "utf16le"), Buffer.from(raw.toString("base64"), "utf8"), raw];
}

/** The files in `dir` that contain any of `values` in any encoding, as "file: value". */
function filesHolding(dir: string, values: string[]): string[] {
  const found: string[] = [];
  for (const f of readdirSync(dir)) {
    const bytes = readFileSync(join(dir, f));
    for (const v of values) {
      if (encodings(v).some((needle) => bytes.includes(needle))) found.push(`${f}: ${v.slice(0, 6)}…`);
    }
  }
  return found;
}

const filesIn = (dir: string) => readdirSync(dir).sort();

async function rotateForced(s: TesseraProcess, admin: Credentials): Promise<void> {
  const r = await runTessera(["keys", "rotate", "--force", "--server", s.url], {
    env: { TESSERA_CLIENT_ID: admin.clientId, TESSERA_CLIENT_SECRET: admin.clientSecret },
  });
  expect(r.code, r.stderr).toBe(0);
}

/** A server that ran without a KEK, rotated its keys, and was killed: plain keys live and dead, in the file and in the -wal. */
async function plainDatabase(name: string): Promise<{ dir: string; db: string; admin: Credentials; seen: string[] }> {
  const dir = tempDir(name);
  dirs.push(dir);
  const db = join(dir, "tessera.db");
  const admin = await bootstrap(db);
  const s = await serve(db);
  const seen = new Set(plainPrivateValues(db));
  for (let i = 0; i < 2; i++) {
    await rotateForced(s, admin);
    for (const v of plainPrivateValues(db)) seen.add(v);
  }
  await s.stop("SIGKILL"); // no checkpoint on the way out: the -wal keeps its frames
  expect(filesIn(dir)).toEqual(["tessera.db", "tessera.db-shm", "tessera.db-wal"]);
  const values = [...seen];
  expect(values.length).toBeGreaterThanOrEqual(4);
  // The test can see plaintext when it is there.
  expect(filesHolding(dir, values).length).toBeGreaterThan(0);
  return { dir, db, admin, seen: values };
}

async function tokenVerifies(s: TesseraProcess, admin: Credentials): Promise<void> {
  const r = await postForm(
    `${s.url}/oauth/token`,
    { grant_type: "client_credentials" },
    { authorization: basic(admin.clientId, admin.clientSecret) },
  );
  expect(r.status).toBe(200);
  const jwks = JSON.parse(await getText(`${s.url}/.well-known/jwks.json`)) as JSONWebKeySet;
  await jwtVerify(r.body.access_token as string, createLocalJWKSet(jwks));
}

describe("no plaintext private key survives encryption", () => {
  it("a server started with a KEK on plain keys encrypts them and erases every old copy from the db, -wal and -shm", async () => {
    const { dir, db, admin, seen } = await plainDatabase("kek-on");
    const s = await serve(db, { TESSERA_KEK: randomBytes(32).toString("base64") });
    expect(plainPrivateValues(db)).toEqual([]);
    // While it runs, -wal and -shm exist: they are checked too.
    expect(filesIn(dir)).toEqual(["tessera.db", "tessera.db-shm", "tessera.db-wal"]);
    expect(filesHolding(dir, seen)).toEqual([]);
    await tokenVerifies(s, admin);
    expect(await s.stop()).toEqual({ code: 0, signal: null });
    expect(filesHolding(dir, seen)).toEqual([]);
  });

  it("tessera keys rewrap from plain keys erases the plain copies, also while another process has the file open", async () => {
    const { dir, db, admin, seen } = await plainDatabase("rewrap-plain");
    // A reader that keeps the database open (a monitoring query, a backup tool): SQLite then
    // neither checkpoints nor deletes the -wal when the rewrap closes its connection.
    const reader = new Database(db, { readonly: true });
    reader.prepare("SELECT count(*) FROM clients").get();
    const kek = randomBytes(32).toString("base64");
    const r = await runTessera(["keys", "rewrap", "--db", db], { env: { TESSERA_NEW_KEK: kek } });
    expect(r.code, r.stderr).toBe(0);
    expect(filesHolding(dir, seen)).toEqual([]);
    reader.close();
    expect(r.stdout).toMatch(
      /^Re-encrypted \d+ signing keys in \S+ under key-encryption key \S+ and erased their old copies from the database files\./,
    );

    // And from one KEK to another: the envelopes under the old KEK go as well.
    const oldCiphertexts = envelopeCiphertexts(db);
    expect(oldCiphertexts.length).toBeGreaterThanOrEqual(2);
    expect(filesHolding(dir, oldCiphertexts).length).toBeGreaterThan(0);
    const next = randomBytes(32).toString("base64");
    const again = await runTessera(["keys", "rewrap", "--db", db], { env: { TESSERA_KEK: kek, TESSERA_NEW_KEK: next } });
    expect(again.code, again.stderr).toBe(0);
    expect(filesHolding(dir, oldCiphertexts)).toEqual([]);
    expect(filesHolding(dir, seen)).toEqual([]);

    const s = await serve(db, { TESSERA_KEK: next });
    await tokenVerifies(s, admin);
    await s.stop();
  });
});
