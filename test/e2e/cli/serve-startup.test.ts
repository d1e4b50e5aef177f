import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTessera, startTessera, type TesseraProcess, tempDir, unprivileged } from "../../helpers/tessera-process.js";

// `tessera serve` that cannot start must say why in one sentence, exit 2, and leave nothing
// behind: no database file, no folder, no -wal/-shm beside an existing file.

let dir: string;
let running: TesseraProcess;

beforeAll(async () => {
  dir = tempDir("serve-startup");
  chmodSync(dir, 0o755); // the unprivileged runs below must reach their own folders
  running = await startTessera({ db: join(dir, "running.db") });
});

afterAll(async () => {
  await running?.stop();
});

function oneSentence(stderr: string): string {
  const lines = stderr.trim().split("\n");
  expect(lines, stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/unexpected error|SQLITE_|    at /);
  return lines[0]!;
}

describe("tessera serve start-up failures", () => {
  it("a port already in use: names the port and --port, exit 2, and creates no database", async () => {
    const db = join(dir, "second", "nested", "tessera.db");
    const r = await runTessera(["serve", "--port", String(running.port), "--host", "127.0.0.1", "--db", db]);
    expect(r.code, r.stderr).toBe(2);
    const line = oneSentence(r.stderr);
    expect(line).toContain(`port ${running.port}`);
    expect(line).toContain("it is in use by another process");
    expect(line).toContain("--port or TESSERA_PORT");
    expect(existsSync(join(dir, "second"))).toBe(false);
  });

  it("the same through TESSERA_PORT names where the port came from", async () => {
    const r = await runTessera(["serve", "--host", "127.0.0.1", "--db", join(dir, "third.db")], {
      env: { TESSERA_PORT: String(running.port) },
    });
    expect(r.code, r.stderr).toBe(2);
    expect(oneSentence(r.stderr)).toContain(`port ${running.port} (set by TESSERA_PORT)`);
    expect(existsSync(join(dir, "third.db"))).toBe(false);
  });

  it("--db naming a folder: one sentence suggesting a file in it, exit 2, nothing created", async () => {
    const folder = join(dir, "a-folder");
    mkdirSync(folder);
    const r = await runTessera(["serve", "--port", "0", "--host", "127.0.0.1", "--db", folder]);
    expect(r.code, r.stderr).toBe(2);
    expect(oneSentence(r.stderr)).toBe(
      `tessera: --db names ${folder}, which is a folder: give the path of a database file, such as ${join(folder, "tessera.db")}.`,
    );
    expect(readdirSync(folder)).toEqual([]);
  });

  it("TESSERA_DB under a file: names the variable, exit 2", async () => {
    const r = await runTessera(["serve", "--port", "0", "--host", "127.0.0.1"], { env: { TESSERA_DB: join(dir, "running.db", "x.db") } });
    expect(r.code, r.stderr).toBe(2);
    expect(oneSentence(r.stderr)).toContain("TESSERA_DB names");
  });

  it("a folder the user cannot write: says so before creating anything, exit 2", async () => {
    const who = unprivileged();
    const locked = join(dir, "locked");
    mkdirSync(locked, { mode: 0o755 }); // owned by the test's user; others may read, not write
    if (who.uid === undefined) chmodSync(locked, 0o555);
    const db = join(locked, "sub", "tessera.db");
    const r = await runTessera(["serve", "--port", "0", "--host", "127.0.0.1", "--db", db], who);
    expect(r.code, r.stderr).toBe(2);
    const line = oneSentence(r.stderr);
    expect(line).toContain(`The folder ${locked} is not writable for`);
    expect(line).toContain("--db or TESSERA_DB");
    expect(readdirSync(locked)).toEqual([]);
  });

  it("a read-only database file: refused at start-up (not at the first write), exit 2, file untouched", async () => {
    const who = unprivileged();
    const folder = join(dir, "ro");
    mkdirSync(folder);
    const db = join(folder, "tessera.db");
    const boot = await runTessera(["bootstrap", "--db", db]);
    expect(boot.code, boot.stderr).toBe(0);
    if (who.uid !== undefined) {
      chownSync(folder, who.uid, who.gid!);
      chownSync(db, who.uid, who.gid!);
    }
    chmodSync(db, 0o444);
    const before = statSync(db);
    const r = await runTessera(["serve", "--port", "0", "--host", "127.0.0.1", "--db", db], who);
    expect(r.code, r.stderr).toBe(2);
    const line = oneSentence(r.stderr);
    expect(line).toContain(`The database ${db} is read-only for`);
    expect(line).toContain("chmod u+w");
    expect(r.stdout).not.toContain("tessera listening");
    expect(readdirSync(folder)).toEqual(["tessera.db"]); // no -wal, no -shm
    expect(statSync(db).mtimeMs).toBe(before.mtimeMs);
  });
});

describe("tessera serve start-up success", () => {
  it("logs the database's absolute path, and what to run next while it has no clients", async () => {
    const cwd = join(dir, "cwd");
    mkdirSync(cwd);
    const server = await startTessera({ db: "rel/tessera.db", cwd });
    try {
      const absolute = join(cwd, "rel", "tessera.db");
      const listening = await server.waitForLog((l) => l.msg === "tessera listening");
      expect(listening.db).toBe(absolute);
      const hint = await server.waitForLog((l) => typeof l.msg === "string" && l.msg.includes("no clients yet"));
      expect(hint.msg).toContain(`tessera bootstrap --db ${absolute}`);
    } finally {
      await server.stop();
    }
  });

  it("says nothing about bootstrap once the database has a client", async () => {
    const db = join(dir, "booted.db");
    expect((await runTessera(["bootstrap", "--db", db])).code).toBe(0);
    const server = await startTessera({ db });
    try {
      await server.waitForLog((l) => l.msg === "tessera listening");
      expect(server.output()).not.toContain("no clients yet");
    } finally {
      await server.stop();
    }
  });

  it("reads its port from TESSERA_PORT, else from PORT", async () => {
    const [a, b] = [await freePort(), await freePort()];
    expect(await listeningPort({ TESSERA_PORT: String(a), PORT: String(b) })).toBe(a);
    expect(await listeningPort({ PORT: String(b) })).toBe(b);
  });
});

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Starts `tessera serve` with no --port and returns the port it logs; then stops it. */
async function listeningPort(env: Record<string, string>): Promise<number> {
  const server = await startTessera({ port: null, db: join(dir, "port.db"), env });
  await server.stop();
  return server.listening.port as number;
}
