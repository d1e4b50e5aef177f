import { afterAll, beforeAll, describe } from "vitest";
import { POSTGRES_SCHEMA_VERSION } from "../../src/storage/postgres/migrations.js";
import { PostgresStorage } from "../../src/storage/postgres/postgres-storage.js";
import { type TestDatabase, testPostgres } from "../helpers/postgres.js";
import { storageConformance } from "./conformance.js";

const server = await testPostgres("PostgreSQL storage conformance");
let db: TestDatabase;

describe.skipIf(server === undefined)("PostgreSQL", () => {
  beforeAll(async () => {
    db = await server!.createDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  storageConformance(
    "PostgresStorage",
    async () => {
      const schema = await db.freshSchema();
      const storage = await PostgresStorage.open(schema.url);
      // The schema goes with the database after the suite: dropping each one costs more than the case.
      return { storage, cleanup: () => storage.close() };
    },
    [],
    async () => {
      const schema = await db.freshSchema();
      return {
        open: () => PostgresStorage.open(schema.url),
        makeSchemaTooNew: async () =>
          void (await db.sql(`INSERT INTO ${schema.name}.schema_migrations (version, name) VALUES ($1, 'from a newer Tessera')`, [
            POSTGRES_SCHEMA_VERSION + 1,
          ])),
        cleanup: async () => {},
      };
    },
  );
});
