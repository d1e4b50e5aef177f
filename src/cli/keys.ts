import { toJson } from "@bufbuild/protobuf";
import { KeyAdmin, type SigningKey, SigningKeySchema, SigningKeyState } from "../../gen/tessera/v1/key_admin_pb.js";
import { StorageUnavailableError } from "../core/ports/storage.js";
import { KekError, kekFromEnv, unwrapKey, wrapKey, wrappedUnder } from "../keys/key-encryption.js";
import { notePlaintextToPurge, purgePlaintextKeys } from "../keys/plaintext-purge.js";
import { authorizedClient } from "./admin-client.js";
import { databaseOption, openExistingDatabase } from "./database-option.js";
import { formatTable } from "./table.js";
import { UsageError } from "./usage.js";

const STATE_NAMES: Record<number, string> = {
  [SigningKeyState.NEXT]: "next",
  [SigningKeyState.CURRENT]: "current",
  [SigningKeyState.RETIRED]: "retired",
};

/** Options of `tessera keys list` and `tessera keys rotate`. */
export interface KeysOptions {
  server: string;
  json?: boolean;
  force?: boolean;
}

/** `tessera keys list`. */
export async function listKeysCommand(o: KeysOptions, env: NodeJS.ProcessEnv): Promise<void> {
  const admin = await authorizedClient(KeyAdmin, o.server, env);
  print(o, (await admin.listSigningKeys({})).keys);
}

/** `tessera keys rotate`. */
export async function rotateKeysCommand(o: KeysOptions, env: NodeJS.ProcessEnv): Promise<void> {
  const admin = await authorizedClient(KeyAdmin, o.server, env);
  const res = await admin.rotateSigningKey({ force: o.force ?? false });
  if (!o.json && res.current) process.stdout.write(`Now signing with ${res.current.kid} (${res.current.alg}).\n\n`);
  print(o, res.keys);
}

function print(o: KeysOptions, keys: SigningKey[]): void {
  if (o.json) {
    process.stdout.write(
      `${JSON.stringify({ keys: keys.map((k) => toJson(SigningKeySchema, k, { useProtoFieldName: true })) }, null, 2)}\n`,
    );
    return;
  }
  const when = (t: SigningKey["createTime"]) => (t ? new Date(Number(t.seconds) * 1000).toISOString() : "-");
  const rows = keys.map((k) => [
    k.kid,
    k.alg,
    STATE_NAMES[k.state] ?? "?",
    when(k.createTime),
    when(k.activateTime),
    k.removeTime ? when(k.removeTime) : "-",
    k.encrypted ? "yes" : "NO",
  ]);
  process.stdout.write(formatTable(["KID", "ALG", "STATE", "CREATED", "SIGNING SINCE", "PUBLISHED UNTIL", "ENCRYPTED"], rows));
}

/**
 * `tessera keys rewrap`: re-encrypts every private key under the KEK in TESSERA_NEW_KEK(_FILE),
 * reading them with the one in TESSERA_KEK(_FILE) (or as plain keys when none is set). One
 * transaction: all or none. Servers running on the database see the new envelopes within a
 * second; each goes on signing with the key it holds, and needs the new KEK from its next start.
 */
export async function rewrapCommand(o: { db?: string }, env: NodeJS.ProcessEnv): Promise<void> {
  const choice = databaseOption(o.db, env);
  const oldKek = kekFromEnv(env);
  const newKek = kekFromEnv(env, "TESSERA_NEW_KEK");
  if (!newKek) throw new UsageError("Set TESSERA_NEW_KEK or TESSERA_NEW_KEK_FILE to the new key-encryption key.");
  const { storage } = await openExistingDatabase(choice);
  const path = choice.shown;
  try {
    // The old copies (plain keys, or envelopes under a KEK that may be compromised) become
    // garbage in the file with this change: note it first, so an interrupted purge is resumed.
    await notePlaintextToPurge(storage);
    const count = await storage.updateSigningKeys((keys) => {
      const upsert = keys.map((k) => ({ ...k, privateKey: wrapKey(unwrapKey(k.privateKey, k.kid, oldKek), k.kid, newKek) }));
      return { upsert, remove: [], result: upsert.length };
    });
    const check = await storage.listSigningKeys();
    if (check.some((k) => wrappedUnder(k.privateKey) !== newKek.id))
      throw new KekError("Re-wrapping did not take effect; nothing was changed.");
    try {
      await purgePlaintextKeys(storage, true);
    } catch (err) {
      if (!(err instanceof StorageUnavailableError)) throw err;
      throw new StorageUnavailableError(
        `Re-encrypted ${count} signing keys under key-encryption key ${newKek.id}, but their old copies could not be erased from the database files yet: ${err.message}. The next tessera serve with the new KEK erases them.`,
      );
    }
    process.stdout.write(
      `Re-encrypted ${count} signing keys in ${path} under key-encryption key ${newKek.id} and erased their old copies from the database files. Restart every server with the new TESSERA_KEK.\n`,
    );
  } finally {
    await storage.close();
  }
}
