// Builds Tessera's IssueTokenDeps from the compiled dist/ the way src/main.ts does, for the
// throwaway peers that put another RPC server in front of the same core function. It follows
// main.ts (config -> key policy -> KeyRing); if main.ts changes shape, update this file.
import { loadConfig } from "../../dist/src/config.js";
import { systemClock } from "../../dist/src/core/clock.js";
import { SecretUseTracker } from "../../dist/src/core/secret-use.js";
import { KeyRing } from "../../dist/src/keys/key-ring.js";
import * as main from "../../dist/src/main.js";
import { SqliteStorage } from "../../dist/src/storage/sqlite/sqlite-storage.js";

/** Opens the database in BENCH_DB and loads its signing keys as `tessera serve` would. */
export async function openCoreDeps(env = process.env) {
  const config = loadConfig({ db: env.BENCH_DB, issuer: env.BENCH_ISSUER, port: env.PORT, alg: env.BENCH_ALG }, env);
  const storage = SqliteStorage.open(config.db);
  const keys =
    typeof main.keyPolicy === "function"
      ? await KeyRing.open(storage, { policy: main.keyPolicy(config), clock: systemClock, kek: config.kek })
      : await KeyRing.open(storage, config.alg, systemClock);
  return { storage, signer: keys, keys, clock: systemClock, issuer: config.issuer, secretUse: new SecretUseTracker() };
}
