import type { Storage } from "../core/ports/storage.js";

/**
 * Meta entry that is "pending" from just before plain private keys are encrypted until the
 * store has been purged of their old copies. Kept in the store, so a purge that a crash or a
 * busy database interrupted is done by the next process that opens the keys with a KEK.
 */
const PURGE_STATE = "plaintext_keys_purge";

/** Records that unencrypted copies of private keys are about to become garbage in the store. */
export async function notePlaintextToPurge(storage: Storage): Promise<void> {
  await storage.setMeta(PURGE_STATE, "pending", true);
}

/**
 * Erases the old copies of private keys from the store's files when keys were just encrypted
 * (`justWrapped`) or an earlier purge is still pending. Encrypting a key replaces its row, but
 * the plain JWK would otherwise stay readable in free pages of the file and in the -wal.
 */
export async function purgePlaintextKeys(storage: Storage, justWrapped: boolean): Promise<void> {
  if (!justWrapped && (await storage.getMeta(PURGE_STATE)) !== "pending") return;
  await storage.purgeDeletedData();
  await storage.setMeta(PURGE_STATE, "done", true);
}
