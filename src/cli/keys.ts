import { parseArgs } from "node:util";
import { toJson } from "@bufbuild/protobuf";
import { kekFromEnv, KekError, unwrapKey, wrapKey, wrappedUnder } from "../keys/key-encryption.js";
import { notePlaintextToPurge, purgePlaintextKeys } from "../keys/plaintext-purge.js";
import { SqliteStorage } from "../storage/sqlite/sqlite-storage.js";
import { StorageUnavailableError } from "../storage/storage.js";
import { KeyAdmin, SigningKeySchema, SigningKeyState, type SigningKey } from "../../gen/tessera/v1/key_admin_pb.js";
import { authorizedClient, DEFAULT_SERVER } from "./admin-client.js";
import { UsageError } from "./usage.js";

const STATE_NAMES: Record<number, string> = {
  [SigningKeyState.NEXT]: "next",
  [SigningKeyState.CURRENT]: "current",
  [SigningKeyState.RETIRED]: "retired",
};

/** `tessera keys list|rotate|rewrap`. */
export async function keysCommand(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const [verb, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: {
      server: { type: "string" },
      json: { type: "boolean", default: false },
      force: { type: "boolean", default: false },
      db: { type: "string" },
    },
    strict: true,
  });
  const server = values.server ?? env.TESSERA_SERVER ?? DEFAULT_SERVER;
  const print = (keys: SigningKey[]) => {
    if (values.json) {
      process.stdout.write(JSON.stringify({ keys: keys.map((k) => toJson(SigningKeySchema, k, { useProtoFieldName: true })) }, null, 2) + "\n");
      return;
    }
    for (const k of keys) {
      const when = (t: SigningKey["createTime"]) => (t ? new Date(Number(t.seconds) * 1000).toISOString() : "-");
      process.stdout.write(
        `${k.kid}\t${k.alg}\t${STATE_NAMES[k.state] ?? "?"}\tcreated ${when(k.createTime)}\tsigning since ${when(k.activateTime)}` +
          `${k.removeTime ? `\tpublished until ${when(k.removeTime)}` : ""}\t${k.encrypted ? "encrypted" : "UNENCRYPTED"}\n`,
      );
    }
  };
  switch (verb) {
    case "list": {
      const admin = await authorizedClient(KeyAdmin, server, env);
      return print((await admin.listSigningKeys({})).keys);
    }
    case "rotate": {
      const admin = await authorizedClient(KeyAdmin, server, env);
      const res = await admin.rotateSigningKey({ force: values.force });
      if (!values.json) process.stdout.write(`Now signing with ${res.current!.kid} (${res.current!.alg}).\n`);
      return print(res.keys);
    }
    case "rewrap":
      return rewrap(values.db ?? env.TESSERA_DB ?? "./data/tessera.db", env);
    default:
      throw new UsageError(`Unknown keys command ${JSON.stringify(verb ?? "")}; use list, rotate or rewrap.`);
  }
}

/**
 * Re-encrypts every private key under the KEK in TESSERA_NEW_KEK(_FILE), reading them with the
 * one in TESSERA_KEK(_FILE) (or as plain keys when none is set). One transaction: all or none.
 */
async function rewrap(db: string, env: NodeJS.ProcessEnv): Promise<void> {
  const oldKek = kekFromEnv(env);
  const newKek = kekFromEnv(env, "TESSERA_NEW_KEK");
  if (!newKek) throw new UsageError("Set TESSERA_NEW_KEK or TESSERA_NEW_KEK_FILE to the new key-encryption key.");
  const storage = SqliteStorage.open(db);
  try {
    // The old copies (plain keys, or envelopes under a KEK that may be compromised) become
    // garbage in the file with this change: note it first, so an interrupted purge is resumed.
    await notePlaintextToPurge(storage);
    const count = await storage.updateSigningKeys((keys) => {
      const upsert = keys.map((k) => ({ ...k, privateKey: wrapKey(unwrapKey(k.privateKey, k.kid, oldKek), k.kid, newKek) }));
      return { upsert, remove: [], result: upsert.length };
    });
    const check = await storage.listSigningKeys();
    if (check.some((k) => wrappedUnder(k.privateKey) !== newKek.id)) throw new KekError("Re-wrapping did not take effect; nothing was changed.");
    try {
      await purgePlaintextKeys(storage, true);
    } catch (err) {
      if (!(err instanceof StorageUnavailableError)) throw err;
      throw new StorageUnavailableError(
        `Re-encrypted ${count} signing keys under key-encryption key ${newKek.id}, but their old copies could not be erased from the database files yet: ${err.message}. The next tessera serve with the new KEK erases them.`,
      );
    }
    process.stdout.write(
      `Re-encrypted ${count} signing keys under key-encryption key ${newKek.id} and erased their old copies from the database files. Restart every server with the new TESSERA_KEK.\n`,
    );
  } finally {
    await storage.close();
  }
}
