import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runTessera, startTessera, tempDir } from "../../helpers/tessera-process.js";

// The default database is ./data/tessera.db in the working directory. Every command that
// uses one says which file (absolute), and bootstrap will not quietly start a new database
// in a folder that does not exist (the usual sign of a wrong working directory).

let dir: string;
beforeAll(() => {
  dir = tempDir("cli-database-path");
});

function created(stderr: string): string {
  const m = /in the (?:new )?database (\/\S+);/.exec(stderr);
  expect(m, stderr).not.toBeNull();
  return m![1]!;
}

describe("tessera bootstrap and the database path", () => {
  it("without data/ in the working directory: refuses, names the absolute path and the ways out, creates nothing", async () => {
    const cwd = join(dir, "empty");
    mkdirSync(cwd);
    const r = await runTessera(["bootstrap"], { cwd });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(`The folder ${join(cwd, "data")} does not exist, so ${join(cwd, "data", "tessera.db")}`);
    expect(r.stderr).toContain("./data/tessera.db in the working directory");
    expect(r.stderr).toContain("--db or TESSERA_DB");
    expect(r.stderr).toContain("--create-dir");
    expect(readdirSync(cwd)).toEqual([]);
  });

  it("--create-dir creates the folder (0700) and says which file it wrote", async () => {
    const cwd = join(dir, "create");
    mkdirSync(cwd);
    const r = await runTessera(["bootstrap", "--create-dir"], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(created(r.stderr)).toBe(join(cwd, "data", "tessera.db"));
    expect(r.stderr).toContain("in the new database");
    expect(statSync(join(cwd, "data")).mode & 0o777).toBe(0o700);
    expect(JSON.parse(r.stdout).client_id).toMatch(/^tcl_/);
  });

  it("a relative --db is resolved against the working directory and printed absolute", async () => {
    const cwd = join(dir, "relative");
    mkdirSync(join(cwd, "state"), { recursive: true });
    const r = await runTessera(["bootstrap", "--db", "state/x.db"], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(created(r.stderr)).toBe(join(cwd, "state", "x.db"));
  });

  it("TESSERA_DB pins the file whatever the working directory", async () => {
    const pinned = join(dir, "pinned", "tessera.db");
    mkdirSync(join(dir, "pinned"));
    const first = await runTessera(["bootstrap"], { cwd: dir, env: { TESSERA_DB: pinned } });
    expect(created(first.stderr)).toBe(pinned);
    const elsewhere = join(dir, "elsewhere");
    mkdirSync(elsewhere);
    const again = await runTessera(["bootstrap"], { cwd: elsewhere, env: { TESSERA_DB: pinned } });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`${pinned} was already bootstrapped`);
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it("serve and bootstrap agree on the default file when run from the same directory", async () => {
    const cwd = join(dir, "same");
    mkdirSync(cwd);
    const server = await startTessera({ cwd });
    try {
      const db = server.listening.db as string;
      expect(db).toBe(join(cwd, "data", "tessera.db"));
      // Logged before "tessera listening", so it is there already.
      expect(server.logs.map((l) => l.msg)).toContain(
        `the database has no clients yet: create the first admin client with: tessera bootstrap --db ${db}`,
      );
      const r = await runTessera(["bootstrap"], { cwd });
      expect(r.code, r.stderr).toBe(0);
      expect(created(r.stderr)).toBe(db);
    } finally {
      await server.stop();
    }
  });

  it("backup and keys rewrap name the absolute file too, and never create a database", async () => {
    const cwd = join(dir, "nothing-here");
    mkdirSync(cwd);
    const backup = await runTessera(["backup", "out.db"], { cwd });
    expect(backup.code).toBe(2);
    expect(backup.stderr).toContain(`There is no database file at ${join(cwd, "data", "tessera.db")}`);
    const rewrap = await runTessera(["keys", "rewrap"], { cwd, env: { TESSERA_NEW_KEK: "00".repeat(32) } });
    expect(rewrap.code).toBe(2);
    expect(rewrap.stderr).toContain(`There is no database at ${join(cwd, "data", "tessera.db")}`);
    expect(existsSync(join(cwd, "data"))).toBe(false);
  });
});
