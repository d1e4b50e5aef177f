import { parseArgs } from "node:util";
import { ADMIN_SCOPE } from "../core/admin-auth.js";
import { ClientAdminCore } from "../core/client-admin.js";
import { systemClock } from "../core/clock.js";
import { SqliteStorage } from "../storage/sqlite/sqlite-storage.js";
import { UsageError } from "./usage.js";

const BOOTSTRAP_KEY = "bootstrap_client_id";

/**
 * `tessera bootstrap`: creates the first admin client directly in the database file (the
 * server may be running on it; it reads clients from the file on every request).
 */
export async function bootstrapCommand(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { db: { type: "string" }, force: { type: "boolean", default: false }, name: { type: "string" } },
    strict: true,
  });
  const path = values.db ?? env.TESSERA_DB ?? "./data/tessera.db";
  const storage = SqliteStorage.open(path);
  try {
    const previous = await storage.getMeta(BOOTSTRAP_KEY);
    if (previous !== undefined && !values.force) {
      throw new UsageError(
        `${path} was already bootstrapped (admin client ${previous}); use that client, or run again with --force to create another admin client.`,
      );
    }
    const core = new ClientAdminCore(storage, systemClock);
    const { client, clientSecret } = await core.create({
      clientId: "",
      name: values.name ?? "admin",
      scopes: [ADMIN_SCOPE],
      audiences: [],
      tokenTtlSeconds: undefined,
    }, { actor: "bootstrap", origin: "local" });
    // A concurrent bootstrap may have won the race: only the first one keeps its client.
    if (!(await storage.setMeta(BOOTSTRAP_KEY, client.clientId, values.force))) {
      await storage.deleteClient(client.clientId);
      throw new UsageError(`${path} was bootstrapped by another process just now; run again with --force to create another admin client.`);
    }
    process.stdout.write(JSON.stringify({ client_id: client.clientId, client_secret: clientSecret }) + "\n");
  } finally {
    await storage.close();
  }
}
