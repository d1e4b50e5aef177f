import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getText } from "../../helpers/http.js";
import { bootstrap, type LogLine, runTessera, startTessera, type TesseraProcess, tempDir } from "../../helpers/tessera-process.js";

// Who may read what Tessera writes: the database, its -wal and -shm, its folder and backups,
// created by real `tessera` processes under the usual umask 022. Another local user is played
// by `nobody` (these tests run as root; root itself reads every file whatever its mode, so
// "another user can read it" is decided by that user's own attempt or by the mode bits).

const NOBODY = 65534;
const started: TesseraProcess[] = [];
const roots: string[] = [];
let umaskBefore: number;

beforeAll(() => {
  umaskBefore = process.umask(0o022); // the usual default; child processes inherit it
});
afterAll(async () => {
  process.umask(umaskBefore);
  await Promise.all(started.map((s) => s.stop()));
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A folder every local user may enter, as /var/lib is: only Tessera's own modes protect what it creates inside. */
function openRoot(prefix: string): string {
  const root = tempDir(prefix);
  chmodSync(root, 0o755);
  roots.push(root);
  return root;
}

const mode = (path: string) => statSync(path).mode & 0o777;

/** Whether the user `nobody` can read the file (cat as that user, without root's groups). */
function nobodyCanRead(path: string): boolean {
  return spawnSync("cat", [path], { uid: NOBODY, gid: NOBODY, stdio: "ignore" }).status === 0;
}

async function serve(db: string, env: Record<string, string> = {}): Promise<TesseraProcess> {
  const s = await startTessera({ db, env });
  started.push(s);
  return s;
}

const WARN = 40;
const INFO = 30;
const exposureLines = (s: TesseraProcess): LogLine[] => s.logs.filter((l) => typeof l.path === "string" && typeof l.access === "string");

describe("files Tessera creates are its own", () => {
  it("the probe works: nobody reads a 0644 file in these folders", () => {
    const root = openRoot("probe");
    const f = join(root, "probe.txt");
    writeFileSync(f, "x", { mode: 0o644 });
    expect(mode(f)).toBe(0o644);
    expect(nobodyCanRead(f)).toBe(true);
  });

  it("serve creates its folders 0700 and the database, -wal and -shm 0600; nobody reads any of them, even once the folders are opened up", async () => {
    const root = openRoot("serve");
    const db = join(root, "state", "tessera", "tessera.db");
    const s = await serve(db);
    expect(mode(join(root, "state"))).toBe(0o700);
    expect(mode(dirname(db))).toBe(0o700);
    for (const f of [db, `${db}-wal`, `${db}-shm`]) {
      expect(mode(f), f).toBe(0o600);
      expect(nobodyCanRead(f), f).toBe(false);
    }
    // The folders' modes are the operator's to choose (systemd's StateDirectory= makes them
    // 0755): the files protect themselves.
    chmodSync(join(root, "state"), 0o755);
    chmodSync(dirname(db), 0o755);
    for (const f of [db, `${db}-wal`, `${db}-shm`]) expect(nobodyCanRead(f), f).toBe(false);
    expect(exposureLines(s)).toEqual([]);
    expect(await s.stop()).toEqual({ code: 0, signal: null });
  });

  it("bootstrap on a new path creates the same: folder 0700, database 0600", async () => {
    const root = openRoot("bootstrap");
    const db = join(root, "fresh", "tessera.db");
    await bootstrap(db);
    expect(mode(dirname(db))).toBe(0o700);
    expect(mode(db)).toBe(0o600);
    expect(nobodyCanRead(db)).toBe(false);
  });

  it("keys rewrap keeps the file set owner-only", async () => {
    const root = openRoot("rewrap");
    const db = join(root, "data", "tessera.db");
    const s = await serve(db);
    await s.stop();
    const r = await runTessera(["keys", "rewrap", "--db", db], { env: { TESSERA_NEW_KEK: randomBytes(32).toString("base64") } });
    expect(r.code, r.stderr).toBe(0);
    for (const f of readdirSync(dirname(db))) expect(mode(join(dirname(db), f)), f).toBe(0o600);
  });
});

describe("tessera backup", () => {
  let root: string;
  let live: string;
  let out: string;

  beforeAll(async () => {
    root = openRoot("backup");
    live = join(root, "live", "tessera.db");
    await bootstrap(live);
    await serve(live); // the backup runs beside a live server, as it would in production
    out = join(root, "backups");
    mkdirSync(out, { mode: 0o755 });
  });

  it("leaves nothing but the backup, 0600, which nobody can read", async () => {
    const dest = join(out, "tessera-backup.db");
    const r = await runTessera(["backup", dest, "--db", live]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out)).toEqual(["tessera-backup.db"]);
    expect(mode(dest)).toBe(0o600);
    expect(nobodyCanRead(dest)).toBe(false);
  });

  it("the backup is one self-contained file: opening it grows no -wal or -shm beside it", () => {
    const copy = new Database(join(out, "tessera-backup.db"), { readonly: true });
    try {
      expect(copy.pragma("journal_mode", { simple: true })).toBe("delete");
      expect((copy.prepare("SELECT count(*) AS n FROM clients").get() as { n: number }).n).toBe(1);
    } finally {
      copy.close();
    }
    expect(readdirSync(out)).toEqual(["tessera-backup.db"]);
  });

  it("--force over a world-readable file leaves an owner-only backup", async () => {
    const dest = join(out, "old.db");
    writeFileSync(dest, "an old backup", { mode: 0o644 });
    const r = await runTessera(["backup", dest, "--db", live, "--force"]);
    expect(r.code, r.stderr).toBe(0);
    expect(mode(dest)).toBe(0o600);
    expect(readdirSync(out).sort()).toEqual(["old.db", "tessera-backup.db"]);
  });

  it("a failed backup leaves nothing behind either", async () => {
    const notDb = join(root, "notes.txt");
    writeFileSync(notDb, "notes, not a database ".repeat(50));
    const r = await runTessera(["backup", join(out, "never.db"), "--db", notDb]);
    expect(r.code).toBe(2);
    expect(readdirSync(out).sort()).toEqual(["old.db", "tessera-backup.db"]);
  });
});

describe("existing files others can get at: a start-up line per path, and Tessera still starts", () => {
  it("a world-readable database in a world-writable folder, keys unencrypted: a warning for each file and the folder", async () => {
    const root = openRoot("exposed");
    const db = join(root, "data", "tessera.db");
    await bootstrap(db);
    chmodSync(db, 0o644);
    chmodSync(dirname(db), 0o777);
    const s = await serve(db);
    const lines = exposureLines(s);
    // SQLite gives the -wal and -shm it creates the database file's own mode.
    expect(lines.map((l) => [l.level, l.path, l.mode, l.access])).toEqual([
      [WARN, db, "0644", "group may read, every local user may read"],
      [WARN, `${db}-wal`, "0644", "group may read, every local user may read"],
      [WARN, `${db}-shm`, "0644", "group may read, every local user may read"],
      [WARN, dirname(db), "0777", "group may write, every local user may write"],
    ]);
    expect(lines[0]!.msg).toBe(
      `users other than its owner can get at a database file that holds the private signing keys unencrypted: whoever reads it can sign any token, admin tokens included; run chmod 600 ${db}, set TESSERA_KEK_FILE, and if anyone may have copied it, tessera keys rotate --force`,
    );
    expect(lines[3]!.msg).toContain(`chmod 700 ${dirname(db)}`);
    // Warned, not refused: it serves.
    expect(JSON.parse(await getText(`${s.url}/.well-known/jwks.json`)).keys.length).toBeGreaterThanOrEqual(2);
    // Tessera does not change modes it did not choose.
    expect(mode(db)).toBe(0o644);
    await s.stop();
  });

  it("a group-readable database: a warning while the keys are unencrypted, an info line once they are encrypted", async () => {
    const root = openRoot("group");
    const plain = join(root, "plain", "tessera.db");
    await bootstrap(plain);
    chmodSync(plain, 0o640);
    const p = await serve(plain);
    expect(exposureLines(p).map((l) => [l.level, l.path, l.mode, l.access])).toContainEqual([WARN, plain, "0640", "group may read"]);
    await p.stop();

    const enc = join(root, "encrypted", "tessera.db");
    await bootstrap(enc);
    chmodSync(enc, 0o640);
    const e = await serve(enc, { TESSERA_KEK: randomBytes(32).toString("base64") });
    const lines = exposureLines(e);
    expect(lines.map((l) => [l.level, l.path, l.mode, l.access])).toContainEqual([INFO, enc, "0640", "group may read"]);
    expect(lines.filter((l) => l.level === WARN)).toEqual([]);
    await e.stop();
  });

  it("a group-writable database is a warning even with encrypted keys: a writer can add an admin client", async () => {
    const root = openRoot("group-write");
    const db = join(root, "data", "tessera.db");
    await bootstrap(db);
    chmodSync(db, 0o660);
    const s = await serve(db, { TESSERA_KEK: randomBytes(32).toString("base64") });
    const line = exposureLines(s).find((l) => l.path === db);
    expect(line).toMatchObject({ level: WARN, mode: "0660", access: "group may read, group may write" });
    expect(line!.msg).toContain("whoever can write it can add an admin client");
    await s.stop();
  });
});
