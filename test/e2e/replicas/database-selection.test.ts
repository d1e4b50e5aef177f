import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestDatabase, testPostgres } from "../../helpers/postgres.js";
import { runTessera, startTessera, tempDir } from "../../helpers/tessera-process.js";

const server = await testPostgres("choosing PostgreSQL with --db, TESSERA_DB or DATABASE_URL");

describe.skipIf(server === undefined)("choosing PostgreSQL with --db, TESSERA_DB or DATABASE_URL", () => {
  let db: TestDatabase;
  let redacted: string;
  beforeAll(async () => {
    db = await server!.createDatabase();
    redacted = db.url.replace(`:${encodeURIComponent(db.password)}@`, ":****@");
    expect(redacted).not.toBe(db.url);
  });
  afterAll(async () => {
    await db?.drop();
  });

  for (const [how, env] of [
    ["TESSERA_DB", (url: string) => ({ TESSERA_DB: url })],
    ["DATABASE_URL when TESSERA_DB is unset", (url: string) => ({ DATABASE_URL: url })],
  ] as const) {
    it(`serve on ${how}: the configuration and listening lines name the database without its password, and nothing else shows it`, async () => {
      const s = await startTessera({ env: { ...env(db.url), TESSERA_LOG_FORMAT: "json" } });
      try {
        const config = s.logs.find((l) => l.msg === "configuration")?.config as { db: string };
        expect(config.db).toBe(redacted);
        expect(s.logs.find((l) => l.msg === "tessera listening")?.db).toBe(redacted);
        expect(s.logs.find((l) => typeof l.msg === "string" && l.msg.startsWith("the database has no clients yet"))?.db).toBe(redacted);
      } finally {
        await s.stop();
      }
      expect(s.output()).not.toContain(db.password);
      expect(await db.sql("SELECT count(*)::int AS n FROM signing_keys")).not.toEqual([{ n: 0 }]);
    });
  }

  it("TESSERA_DB wins over DATABASE_URL, and a path still means SQLite", async () => {
    const path = join(tempDir("selection"), "tessera.db");
    const s = await startTessera({ env: { TESSERA_DB: path, DATABASE_URL: db.url, TESSERA_LOG_FORMAT: "json" } });
    try {
      expect(s.logs.find((l) => l.msg === "tessera listening")?.db).toBe(path);
    } finally {
      await s.stop();
    }
    expect(s.output()).not.toContain(db.password);
  });

  it("tessera backup on PostgreSQL points to pg_dump and tessera copy, exit 2, without the password", async () => {
    const r = await runTessera(["backup", join(tempDir("backup"), "tessera.dump"), "--db", db.url]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("pg_dump --format=custom");
    expect(r.stderr).toContain(`back up the PostgreSQL database ${redacted}`);
    expect(r.stderr).toContain("tessera copy --from URL --to");
    expect(r.stdout + r.stderr).not.toContain(db.password);
  });

  it("a wrong password, a server not listening, and a bad sslmode are refused in one sentence that shows no password", async () => {
    const wrong = new URL(db.url);
    wrong.password = "not-the-password-x7";
    const closed = new URL(wrong);
    closed.port = "1";
    const badMode = new URL(db.url);
    badMode.searchParams.set("sslmode", "sometimes");
    for (const [url, expected] of [
      [wrong, /password authentication failed/],
      [closed, /connection refused/],
      [badMode, /sslmode=sometimes: use one of/],
    ] as const) {
      for (const args of [
        ["serve", "--port", "0", "--db", url.toString()],
        ["migrate", "status", "--db", url.toString()],
        ["bootstrap", "--db", url.toString()],
      ]) {
        const r = await runTessera(args);
        expect(r.code, `${args[0]}: ${r.stderr}`).not.toBe(0);
        const lines = r.stderr.trim().split("\n");
        expect(lines, r.stderr).toHaveLength(1);
        expect(lines[0]).toMatch(expected);
        expect(r.stdout + r.stderr).not.toContain(db.password);
        expect(r.stdout + r.stderr).not.toContain("not-the-password-x7");
      }
    }
  }, 60_000);
});
