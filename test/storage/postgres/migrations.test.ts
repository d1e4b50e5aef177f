import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SchemaTooNewError } from "../../../src/core/ports/storage.js";
import { parseDatabaseUrl } from "../../../src/storage/postgres/connection.js";
import { MigrationsPendingError, migrate, migrationStatus, POSTGRES_SCHEMA_VERSION } from "../../../src/storage/postgres/migrations.js";
import { Database } from "../../../src/storage/postgres/pool.js";
import { PostgresStorage } from "../../../src/storage/postgres/postgres-storage.js";
import { type TestDatabase, testPostgres } from "../../helpers/postgres.js";

const server = await testPostgres("PostgreSQL migrations");
let db: TestDatabase;
/** Every migration this build has, oldest first. */
const versions = Array.from({ length: POSTGRES_SCHEMA_VERSION }, (_, i) => i + 1);

describe.skipIf(server === undefined)("PostgreSQL migrations", () => {
  beforeAll(async () => {
    db = await server!.createDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  const tables = async (schema: string) =>
    (await db.sql<{ t: string }>("SELECT table_name AS t FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1", [schema])).map(
      (r) => r.t,
    );
  const withDatabase = async <T>(url: string, fn: (d: Database) => Promise<T>): Promise<T> => {
    const d = new Database(parseDatabaseUrl(url));
    try {
      return await fn(d);
    } finally {
      await d.end();
    }
  };

  it("migrationStatus of an empty schema is version 0 with every migration pending, and creates nothing", async () => {
    const schema = await db.freshSchema();
    const status = await withDatabase(schema.url, migrationStatus);
    expect(status).toEqual({
      current: 0,
      latest: POSTGRES_SCHEMA_VERSION,
      applied: [],
      pending: versions.map((version) => expect.objectContaining({ version })),
    });
    expect(await tables(schema.name)).toEqual([]);
  });

  it("migrate brings an empty schema to the latest version, records it, and a second run does nothing", async () => {
    const schema = await db.freshSchema();
    expect(await withDatabase(schema.url, migrate)).toEqual({ from: 0, to: POSTGRES_SCHEMA_VERSION });
    expect(await tables(schema.name)).toEqual([
      "assertion_jtis",
      "audit_events",
      "change_counter",
      "client_secrets",
      "client_tombstones",
      "clients",
      "meta",
      "revoked_tokens",
      "schema_migrations",
      "shared_buckets",
      "signing_keys",
    ]);
    const status = await withDatabase(schema.url, migrationStatus);
    expect(status.current).toBe(POSTGRES_SCHEMA_VERSION);
    expect(status.pending).toEqual([]);
    expect(status.applied.map((m) => m.version)).toEqual(versions);
    expect(status.applied[0]!.appliedAt).toBeInstanceOf(Date);
    expect(await withDatabase(schema.url, migrate)).toEqual({ from: POSTGRES_SCHEMA_VERSION, to: POSTGRES_SCHEMA_VERSION });
  });

  it("five instances opening one empty schema at the same moment apply each migration exactly once", async () => {
    const schema = await db.freshSchema();
    const opened = await Promise.all(Array.from({ length: 5 }, () => PostgresStorage.open(schema.url)));
    try {
      const rows = await db.sql<{ version: number; n: number }>(
        `SELECT version, count(*)::int AS n FROM ${schema.name}.schema_migrations GROUP BY version ORDER BY version`,
      );
      expect(rows).toEqual(versions.map((version) => ({ version, n: 1 })));
      expect(await db.sql(`SELECT value FROM ${schema.name}.change_counter`)).toEqual([{ value: "0" }]);
    } finally {
      await Promise.all(opened.map((s) => s.close()));
    }
  });

  it("open with migrate: false refuses a schema with pending migrations, naming the command, and creates nothing", async () => {
    const schema = await db.freshSchema();
    const err = await PostgresStorage.open(schema.url, { migrate: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationsPendingError);
    expect((err as Error).message).toMatch(
      new RegExp(`has schema version 0 and this Tessera needs ${POSTGRES_SCHEMA_VERSION}: run \`tessera migrate up\` first`),
    );
    expect((err as Error).message).toContain(":****@");
    expect((err as Error).message).not.toContain(db.password);
    expect(await tables(schema.name)).toEqual([]);
    // Once migrated, the same open succeeds.
    await withDatabase(schema.url, migrate);
    await (await PostgresStorage.open(schema.url, { migrate: false })).close();
  });

  it("a schema newer than this build is refused by open (with or without migrating) and by migrate, changing nothing", async () => {
    const schema = await db.freshSchema();
    await (await PostgresStorage.open(schema.url)).close();
    await db.sql(`INSERT INTO ${schema.name}.schema_migrations (version, name) VALUES ($1, 'from a newer Tessera')`, [
      POSTGRES_SCHEMA_VERSION + 1,
    ]);
    await db.sql(`CREATE TABLE ${schema.name}.future_table (x int)`);
    const before = await tables(schema.name);
    for (const attempt of [
      () => PostgresStorage.open(schema.url),
      () => PostgresStorage.open(schema.url, { migrate: false }),
      () => withDatabase(schema.url, migrate),
    ]) {
      const err = await attempt().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SchemaTooNewError);
      expect((err as Error).message).toMatch(
        new RegExp(
          `has schema version ${POSTGRES_SCHEMA_VERSION + 1}, newer than this Tessera understands \\(${POSTGRES_SCHEMA_VERSION}\\); upgrade Tessera`,
        ),
      );
      expect((err as Error).message).not.toContain(db.password);
    }
    expect(await tables(schema.name)).toEqual(before);
    const status = await withDatabase(schema.url, migrationStatus);
    expect(status.current).toBe(POSTGRES_SCHEMA_VERSION + 1);
    expect(status.pending).toEqual([]);
  });

  it("a schema at version 1, as the first release left it, is brought to the latest version with its data kept", async () => {
    const schema = await db.freshSchema();
    const first = await PostgresStorage.open(schema.url);
    await first.setMeta("kept", "yes", false);
    await first.close();
    // Back to what version 1 alone created.
    await db.sql(`DROP TABLE ${schema.name}.shared_buckets`);
    await db.sql(`DROP TABLE ${schema.name}.assertion_jtis`);
    for (const column of ["auth_method", "jwks_uri", "client_keys", "federated_credentials"])
      await db.sql(`ALTER TABLE ${schema.name}.clients DROP COLUMN ${column}`);
    await db.sql(`DELETE FROM ${schema.name}.schema_migrations WHERE version > 1`);
    expect((await withDatabase(schema.url, migrationStatus)).pending.map((m) => m.version)).toEqual([2, 3]);
    const upgraded = await PostgresStorage.open(schema.url);
    try {
      expect(await upgraded.getMeta("kept")).toBe("yes");
      expect(await upgraded.recordAssertionJti("c", "j", 1000, 0)).toBe(true);
      expect(await upgraded.takeBuckets([{ key: "auth-pair:x", ratePerSecond: 1, burst: 2 }], 0)).toEqual([
        { key: "auth-pair:x", tokens: 1, time: 0, taken: true },
      ]);
    } finally {
      await upgraded.close();
    }
    expect((await withDatabase(schema.url, migrationStatus)).current).toBe(POSTGRES_SCHEMA_VERSION);
  });
});
