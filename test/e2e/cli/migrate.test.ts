import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POSTGRES_SCHEMA_VERSION } from "../../../src/storage/postgres/migrations.js";
import { SCHEMA_VERSION } from "../../../src/storage/sqlite/migrations.js";
import { type TestDatabase, testPostgres } from "../../helpers/postgres.js";
import { runTessera, tempDir } from "../../helpers/tessera-process.js";

const server = await testPostgres("tessera migrate on PostgreSQL");

/** A one-sentence refusal: one line on stderr, nothing else. */
function oneSentence(stderr: string): string {
  const lines = stderr.trim().split("\n");
  expect(lines, stderr).toHaveLength(1);
  return lines[0]!;
}

describe.skipIf(server === undefined)("tessera migrate on PostgreSQL", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await server!.createDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });
  const tables = async (schema: string) =>
    (await db.sql("SELECT table_name FROM information_schema.tables WHERE table_schema = $1", [schema])).length;

  it("status on an empty database shows every migration pending and creates nothing; up applies them once; status then says up to date", async () => {
    const schema = await db.freshSchema();
    const before = await runTessera(["migrate", "status", "--db", schema.url]);
    expect(before.code, before.stderr).toBe(0);
    expect(before.stdout).toContain(`schema version 0; this Tessera writes version ${POSTGRES_SCHEMA_VERSION}.`);
    expect(before.stdout.match(/^ {2}pending {2}\d/gm)).toHaveLength(POSTGRES_SCHEMA_VERSION);
    expect(before.stdout).toContain("Run `tessera migrate up`");
    expect(await tables(schema.name)).toBe(0);

    const up = await runTessera(["migrate", "up", "--db", schema.url]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain(`from schema version 0 to ${POSTGRES_SCHEMA_VERSION}`);
    const again = await runTessera(["migrate", "up", "--db", schema.url]);
    expect(again.stdout).toContain("nothing to do");

    const after = await runTessera(["migrate", "status", "--json", "--db", schema.url]);
    const report = JSON.parse(after.stdout) as {
      current: number;
      latest: number;
      applied: { version: number; applied_at: string }[];
      pending: unknown[];
    };
    expect(report).toMatchObject({ current: POSTGRES_SCHEMA_VERSION, latest: POSTGRES_SCHEMA_VERSION, pending: [] });
    expect(report.applied.map((m) => m.version)).toEqual(Array.from({ length: POSTGRES_SCHEMA_VERSION }, (_, i) => i + 1));
    for (const r of [before, up, again, after]) expect(r.stdout + r.stderr).not.toContain(db.password);
  });

  it("five migrate up jobs at once apply each migration exactly once, and all succeed", async () => {
    const schema = await db.freshSchema();
    const runs = await Promise.all(Array.from({ length: 5 }, () => runTessera(["migrate", "up", "--db", schema.url])));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    expect(runs.filter((r) => r.stdout.includes("Migrated"))).toHaveLength(1);
    const versions = await db.sql<{ version: number }>(`SELECT version FROM ${schema.name}.schema_migrations ORDER BY version`);
    expect(versions.map((v) => v.version)).toEqual(Array.from({ length: POSTGRES_SCHEMA_VERSION }, (_, i) => i + 1));
  });

  it("a schema newer than this Tessera: serve, migrate up and migrate status refuse it in one sentence, exit 2, changing nothing, the password never shown", async () => {
    const schema = await db.freshSchema();
    expect((await runTessera(["migrate", "up", "--db", schema.url])).code).toBe(0);
    await db.sql(`INSERT INTO ${schema.name}.schema_migrations (version, name) VALUES ($1, 'from a newer Tessera')`, [
      POSTGRES_SCHEMA_VERSION + 1,
    ]);
    const tablesBefore = await tables(schema.name);
    const serve = await runTessera(["serve", "--port", "0", "--db", schema.url]);
    expect(serve.code).toBe(2);
    expect(oneSentence(serve.stderr)).toMatch(
      new RegExp(
        `schema version ${POSTGRES_SCHEMA_VERSION + 1}, newer than this Tessera understands \\(${POSTGRES_SCHEMA_VERSION}\\); upgrade Tessera`,
      ),
    );
    const up = await runTessera(["migrate", "up", "--db", schema.url]);
    expect(up.code).toBe(2);
    expect(oneSentence(up.stderr)).toContain("upgrade Tessera");
    const status = await runTessera(["migrate", "status", "--db", schema.url]);
    expect(status.code).toBe(2);
    expect(status.stdout).toContain(`schema version ${POSTGRES_SCHEMA_VERSION + 1}`);
    for (const r of [serve, up, status]) expect(r.stdout + r.stderr).not.toContain(db.password);
    expect(await tables(schema.name)).toBe(tablesBefore);
  });
});

describe("tessera migrate on SQLite", () => {
  const dir = tempDir("migrate");
  const userVersion = (path: string) => {
    const d = new Database(path);
    try {
      return d.pragma("user_version", { simple: true }) as number;
    } finally {
      d.close();
    }
  };

  it("status on an old file shows what is pending, up applies it, and neither creates a missing file", async () => {
    const path = join(dir, "old.db");
    new Database(path).close(); // version 0: a file no Tessera has opened yet
    const status = await runTessera(["migrate", "status", "--db", path]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(`schema version 0; this Tessera writes version ${SCHEMA_VERSION}.`);
    const up = await runTessera(["migrate", "up", "--db", path]);
    expect(up.code, up.stderr).toBe(0);
    expect(userVersion(path)).toBe(SCHEMA_VERSION);
    expect((await runTessera(["migrate", "up", "--db", path])).stdout).toContain("nothing to do");

    const missing = await runTessera(["migrate", "status", "--db", join(dir, "typo.db")]);
    expect(missing.code).toBe(2);
    expect(oneSentence(missing.stderr)).toContain("There is no database at");
  });

  it("a file newer than this Tessera: serve, migrate up and status refuse it in one sentence, exit 2, leaving it as it was", async () => {
    const path = join(dir, "newer.db");
    const d = new Database(path);
    d.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    d.close();
    for (const args of [
      ["serve", "--port", "0"],
      ["migrate", "up"],
      ["migrate", "status"],
    ]) {
      const r = await runTessera([...args, "--db", path]);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(2);
      expect(oneSentence(r.stderr)).toMatch(new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer than this Tessera understands`));
    }
    expect(userVersion(path)).toBe(SCHEMA_VERSION + 1);
  });
});
