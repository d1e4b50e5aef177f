import { ADMIN_SCOPE } from "../core/admin-auth.js";
import { ClientAdminCore } from "../core/client-admin.js";
import { systemClock } from "../core/clock.js";
import { checkDatabasePath, createDatabaseDirs, DatabasePathError, removeCreatedDatabase } from "../storage/sqlite/database-file.js";
import { SqliteStorage } from "../storage/sqlite/sqlite-storage.js";
import { databaseOption } from "./database-option.js";
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
 * `tessera bootstrap`: creates the first admin client directly in the database file (the
 * server may be running on it; it reads clients from the file on every request). A missing
 * folder is refused unless --create-dir: it most likely means the wrong working directory,
 * and a new database there would not be the one the server uses.
 */
export async function bootstrapCommand(o: BootstrapOptions, env: NodeJS.ProcessEnv): Promise<void> {
  const { path, where } = databaseOption(o.db, env);
  const place = checkDatabasePath(path, where);
  if (place.missingDirs.length > 0 && !o.createDir) {
    throw new DatabasePathError(
      `The folder ${place.missingDirs.at(-1)} does not exist, so ${path} (from ${where}) would be a new database that no server uses. ` +
        `Give the server's database with --db or TESSERA_DB (tessera serve logs its path at start-up), or pass --create-dir to create a new one there.`,
    );
  }
  createDatabaseDirs(place);
  let storage: SqliteStorage;
  try {
    storage = SqliteStorage.open(path);
  } catch (err) {
    removeCreatedDatabase(place);
    throw err;
  }
  try {
    const previous = await storage.getMeta(BOOTSTRAP_KEY);
    if (previous !== undefined && !o.force) {
      throw new UsageError(
        `${path} was already bootstrapped (admin client ${previous}); use that client, or run again with --force to create another admin client.`,
      );
    }
    const core = new ClientAdminCore(storage, systemClock);
    const { client, clientSecret } = await core.create({
      clientId: "",
      name: o.name ?? "admin",
      scopes: [ADMIN_SCOPE],
      audiences: [],
      tokenTtlSeconds: undefined,
    }, { actor: "bootstrap", origin: "local" });
    // A concurrent bootstrap may have won the race: only the first one keeps its client.
    if (!(await storage.setMeta(BOOTSTRAP_KEY, client.clientId, o.force ?? false))) {
      await storage.deleteClient(client.clientId);
      throw new UsageError(`${path} was bootstrapped by another process just now; run again with --force to create another admin client.`);
    }
    // stdout stays one JSON line for scripts; the person learns which file was changed.
    process.stderr.write(`Created admin client ${client.clientId} in ${place.exists ? "the database" : "the new database"} ${path}; its secret is shown only this once.\n`);
    process.stdout.write(JSON.stringify({ client_id: client.clientId, client_secret: clientSecret }) + "\n");
  } finally {
    await storage.close();
  }
}
