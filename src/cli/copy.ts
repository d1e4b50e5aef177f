import { type OpenedDatabase, openDatabase } from "../compose/storage.js";
import { STORE_RECORD_KINDS, StoreNotEmptyError } from "../core/ports/storage.js";
import { checkDatabasePath, createDatabaseDirs, type DatabasePlace, removeCreatedDatabase } from "../storage/sqlite/database-file.js";
import { digesting, digestOf, type StoreDigest } from "../storage/store-records.js";
import { type DatabaseChoice, databaseOption, refuseMissingFile } from "./database-option.js";
import { formatTable } from "./table.js";
import { UsageError } from "./usage.js";

/** Options of `tessera copy`. */
export interface CopyOptions {
  from: string;
  to: string;
  force?: boolean;
}

/** The copy was written but does not read back as the source: main prints it and exits 1. */
export class CopyError extends Error {
  override readonly name = "CopyError";
}

/**
 * `tessera copy --from A --to B`: moves a whole Tessera database between SQLite files and
 * PostgreSQL databases (either way, or between two of a kind): clients with their secrets'
 * hashes, signing keys exactly as stored (KEK envelopes included, so no KEK is needed and
 * tokens issued before the move still verify), cut-offs, tombstones, the deny-list, the audit
 * trail with its ids, and meta. The source is read from one snapshot (servers may keep running
 * on it); the target is written in one transaction and must be empty unless --force, which
 * replaces what it holds. Then the target is read back and compared, per kind of record, by
 * count and content digest.
 */
export async function copyCommand(o: CopyOptions, env: NodeJS.ProcessEnv): Promise<void> {
  const from = databaseOption(o.from, env, "--from");
  const to = databaseOption(o.to, env, "--to");
  if (from.db === to.db) throw new UsageError(`--from and --to name the same database (${from.shown}); give two different ones.`);
  refuseMissingFile(from);
  // An older PostgreSQL source is refused rather than migrated: a copy should not change it.
  const source = await openDatabase(from.db, { notify: false, migrate: false });
  try {
    const place = to.kind === "sqlite" ? prepareFile(to) : undefined;
    let target: OpenedDatabase;
    try {
      target = await openDatabase(to.db, { notify: false });
    } catch (err) {
      if (place) removeCreatedDatabase(place);
      throw err;
    }
    try {
      const sourceDigest = await copyInto(source, target, to, o.force ?? false).catch((err: unknown) => {
        if (place) void target.storage.close().then(() => removeCreatedDatabase(place));
        throw err;
      });
      report(from, to, sourceDigest, await digestOf(target.storage.exportRecords()));
    } finally {
      await target.storage.close();
    }
  } finally {
    await source.storage.close();
  }
}

/** Imports the source's records into the target; returns the source's digest, computed on the way. */
async function copyInto(source: OpenedDatabase, target: OpenedDatabase, to: DatabaseChoice, force: boolean): Promise<StoreDigest> {
  const stream = digesting(source.storage.exportRecords());
  try {
    await target.storage.importRecords(stream.batches, { replace: force });
  } catch (err) {
    if (!(err instanceof StoreNotEmptyError)) throw err;
    const held = Object.entries(err.found)
      .map(([kind, n]) => `${kind}: ${n}`)
      .join(", ");
    throw new UsageError(`${to.shown} is not empty (${held}); copy into an empty database, or pass --force to replace everything in it.`);
  }
  return stream.digest();
}

/** Checks a target SQLite path (its folder must exist: a typo must not create folders) and notes whether the file is new. */
function prepareFile(to: DatabaseChoice): DatabasePlace {
  const place = checkDatabasePath(to.db, "--to");
  if (place.missingDirs.length > 0)
    throw new UsageError(`The folder ${place.missingDirs.at(-1)} of --to ${to.db} does not exist; create it first.`);
  createDatabaseDirs(place);
  return place;
}

/** Prints what was copied and the check, or throws CopyError naming every kind that differs. */
function report(from: DatabaseChoice, to: DatabaseChoice, source: StoreDigest, copied: StoreDigest): void {
  const differ = STORE_RECORD_KINDS.filter((k) => source[k].count !== copied[k].count || source[k].sha256 !== copied[k].sha256);
  if (differ.length > 0) {
    const what = differ.map((k) => `${k} (${source[k].count} read, ${copied[k].count} found)`).join(", ");
    throw new CopyError(`The copy in ${to.shown} does not read back as ${from.shown}: ${what} differ; do not use it.`);
  }
  const rows = STORE_RECORD_KINDS.map((k) => [k, String(source[k].count), source[k].sha256.slice(0, 16), "same"]);
  process.stdout.write(`Copied ${from.shown} to ${to.shown}, read it back and compared:\n`);
  process.stdout.write(formatTable(["RECORDS", "COUNT", "SHA-256 (FIRST 16)", "COPY"], rows));
  process.stdout.write(
    "Start the servers on the copy with the same --issuer and KEK: tokens issued before the move verify and introspect as before.\n",
  );
}
