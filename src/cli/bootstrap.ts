import { type OpenedDatabase, openDatabase } from "../compose/storage.js";
import { ADMIN_SCOPE } from "../core/admin-auth.js";
import { ClientAdminCore } from "../core/client-admin.js";
import { systemClock } from "../core/clock.js";
import {
  checkDatabasePath,
  createDatabaseDirs,
  DatabasePathError,
  type DatabasePlace,
  removeCreatedDatabase,
} from "../storage/sqlite/database-file.js";
import { type DatabaseChoice, databaseOption } from "./database-option.js";
import { UsageError } from "./usage.js";

const BOOTSTRAP_KEY = "bootstrap_client_id";

/** Options of `tessera bootstrap`. */
export interface BootstrapOptions {
  db?: string;
  force?: boolean;
  name?: string;
  createDir?: boolean;
}

/**
 * `tessera bootstrap`: creates the first admin client directly in the database (servers may be
 * running on it: they see the new client within a second). A SQLite file in a missing folder is
 * refused unless --create-dir: it most likely means the wrong working directory, and a new
 * database there would not be the one the server uses. Of several bootstraps at once (two
 * shells against one PostgreSQL database), exactly one creates the admin client.
 */
export async function bootstrapCommand(o: BootstrapOptions, env: NodeJS.ProcessEnv): Promise<void> {
  const choice = databaseOption(o.db, env);
  const place = choice.kind === "sqlite" ? prepareFile(choice, o.createDir ?? false) : undefined;
  let opened: OpenedDatabase;
  try {
    opened = await openDatabase(choice.db, { notify: false });
  } catch (err) {
    if (place) removeCreatedDatabase(place);
    throw err;
  }
  const storage = opened.storage;
  try {
    const previous = await storage.getMeta(BOOTSTRAP_KEY);
    if (previous !== undefined && !o.force) {
      throw new UsageError(
        `${choice.shown} was already bootstrapped (admin client ${previous}); use that client, or run again with --force to create another admin client.`,
      );
    }
    const core = new ClientAdminCore(storage, systemClock);
    const { client, clientSecret } = await core.create(
      {
        clientId: "",
        name: o.name ?? "admin",
        scopes: [ADMIN_SCOPE],
        audiences: [],
        tokenTtlSeconds: undefined,
      },
      { actor: "bootstrap", origin: "local" },
    );
    // A concurrent bootstrap may have won the race: only the first one keeps its client, and
    // the audit trail says why the other one's went again.
    if (!(await storage.setMeta(BOOTSTRAP_KEY, client.clientId, o.force ?? false))) {
      const now = systemClock();
      await storage.deleteClient(client.clientId, {
        time: now,
        actor: "bootstrap",
        origin: "local",
        action: "client.delete",
        target: client.clientId,
        changes: { reason: "another bootstrap finished first" },
      });
      throw new UsageError(
        `${choice.shown} was bootstrapped by another process just now; run again with --force to create another admin client.`,
      );
    }
    // stdout stays one JSON line for scripts; the person learns which database was changed.
    process.stderr.write(
      `Created admin client ${client.clientId} in ${place?.exists === false ? "the new database" : "the database"} ${choice.shown}; its secret is shown only this once.\n`,
    );
    process.stdout.write(`${JSON.stringify({ client_id: client.clientId, client_secret: clientSecret })}\n`);
  } finally {
    await storage.close();
  }
}

/** Checks a SQLite path and creates its folders (only with --create-dir when they are missing). */
function prepareFile(choice: DatabaseChoice, createDir: boolean): DatabasePlace {
  const place = checkDatabasePath(choice.db, choice.source);
  if (place.missingDirs.length > 0 && !createDir) {
    throw new DatabasePathError(
      `The folder ${place.missingDirs.at(-1)} does not exist, so ${choice.db} (from ${choice.source}) would be a new database that no server uses. ` +
        `Give the server's database with --db or TESSERA_DB (tessera serve logs its path at start-up), or pass --create-dir to create a new one there.`,
    );
  }
  createDatabaseDirs(place);
  return place;
}
