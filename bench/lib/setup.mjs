// Databases for the benchmark, made before any timing: `tessera bootstrap`, then clients (and
// deny-list entries) written straight into the SQLite file through Tessera's own storage code.
import { randomUUID } from "node:crypto";
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { ClientAdminCore } from "../../dist/src/core/client-admin.js";
import { SqliteStorage } from "../../dist/src/storage/sqlite/sqlite-storage.js";
import { run } from "./procs.mjs";

/** The audience every benchmark client may ask for. */
export const AUDIENCE = "https://api.example.com";
/** The scopes every benchmark client has (and asks for). */
export const SCOPES = ["read", "write"];

/** @import { NewClientInput } from "../../dist/src/core/client-admin.js" */
/** @import { Storage } from "../../dist/src/core/ports/storage.js" */

/** @typedef {{ clientId: string, clientSecret: string }} Credentials */

/**
 * @param {string} name
 * @returns {NewClientInput}
 */
const clientInput = (name) => ({ clientId: "", name, scopes: SCOPES, audiences: [AUDIENCE], tokenTtlSeconds: 3600 });

/**
 * `tessera bootstrap` on a new file, then the benchmark client; returns both credentials.
 * @param {string} root where bin/ and dist/ are
 * @param {string} db
 * @returns {Promise<{ admin: Credentials, bench: Credentials }>}
 */
export async function makeMainDb(root, db) {
  const r = await run("tessera bootstrap", process.execPath, [join(root, "bin/tessera"), "bootstrap", "--db", db], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`tessera bootstrap failed (${r.code}): ${r.stderr}${r.stdout}`);
  /** @type {{ client_id: string, client_secret: string }} the last line bootstrap prints */
  const admin = JSON.parse(r.stdout.trim().split("\n").pop() ?? "");
  const storage = SqliteStorage.open(db);
  try {
    const { client, clientSecret } = await new ClientAdminCore(storage, Date.now).create(clientInput("bench"));
    return {
      admin: { clientId: admin.client_id, clientSecret: admin.client_secret },
      bench: { clientId: client.clientId, clientSecret: clientSecret },
    };
  } finally {
    await storage.close();
  }
}

// Writes to a RAM disk when there is one: each insert commits with synchronous=FULL, which costs
// ~0.5 ms on this disk and ~0.1 ms in RAM; the finished file is then copied next to the others.
function scratchDir() {
  return existsSync("/dev/shm") ? mkdtempSync("/dev/shm/tessera-bench-") : undefined;
}

/**
 * Runs `fn` on a copy of `src` (in RAM when possible), then leaves the result at `dest`.
 * @template T
 * @param {string} src
 * @param {string} dest
 * @param {(storage: Storage) => Promise<T>} fn
 */
async function withCopy(src, dest, fn) {
  const scratch = scratchDir();
  const work = scratch ? join(scratch, "seed.db") : dest;
  copyFileSync(src, work);
  try {
    const storage = SqliteStorage.open(work);
    try {
      return await fn(storage);
    } finally {
      await storage.close(); // checkpoints the WAL into the file
    }
  } finally {
    if (scratch) {
      copyFileSync(work, dest);
      rmSync(scratch, { recursive: true, force: true });
    }
  }
}

/**
 * Copies `src` to `dest` and registers `count` more clients through ClientAdminCore (bounded by
 * `maxSeconds`); returns their credentials, for load spread over all of them.
 * @param {string} src
 * @param {string} dest
 * @param {number} count
 * @param {{ maxSeconds?: number, log?: (line: string) => void }} [options]
 */
export async function seedClients(src, dest, count, { maxSeconds = 300, log = () => {} } = {}) {
  const t0 = Date.now();
  const creds = await withCopy(src, dest, async (storage) => {
    const core = new ClientAdminCore(storage, Date.now);
    /** @type {Credentials[]} */
    const out = [];
    for (let i = 0; i < count; i++) {
      if (Date.now() - t0 > maxSeconds * 1000) throw new Error(`seeding ${count} clients took over ${maxSeconds} s (stopped at ${i})`);
      const { client, clientSecret } = await core.create(clientInput(`seed-${i}`));
      out.push({ clientId: client.clientId, clientSecret });
      if (i > 0 && i % 25_000 === 0) log(`  ${i} clients...`);
    }
    return out;
  });
  return { creds, seconds: (Date.now() - t0) / 1000, bytes: statSync(dest).size };
}

/**
 * Copies `src` to `dest` with `count` live entries on the deny-list (storage.revokeToken).
 * @param {string} src
 * @param {string} dest
 * @param {number} count
 * @param {string} clientId
 * @param {{ maxSeconds?: number }} [options]
 */
export async function seedRevocations(src, dest, count, clientId, { maxSeconds = 300 } = {}) {
  const t0 = Date.now();
  await withCopy(src, dest, async (storage) => {
    if (typeof storage.revokeToken !== "function") throw new Error("this build's storage has no revokeToken");
    const expire = Date.now() + 23 * 3600 * 1000; // still live during the run, so not pruned
    for (let i = 0; i < count; i++) {
      if (Date.now() - t0 > maxSeconds * 1000) throw new Error(`seeding ${count} revocations took over ${maxSeconds} s`);
      await storage.revokeToken(randomUUID(), clientId, expire);
    }
  });
  return { seconds: (Date.now() - t0) / 1000, bytes: statSync(dest).size };
}

/**
 * Sizes of a SQLite database's files (main, -wal, -shm), bytes.
 * @param {string} db
 */
export function dbFiles(db) {
  const size = (/** @type {string} */ f) => (existsSync(f) ? statSync(f).size : 0);
  return { db: size(db), wal: size(`${db}-wal`), shm: size(`${db}-shm`) };
}
