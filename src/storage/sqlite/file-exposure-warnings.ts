import type { Logger } from "pino";
import { exposedFiles, type FileExposure } from "./private-files.js";

/**
 * Logs one line per database file or folder that users other than its owner can get at,
 * saying what they can do with it and the command that fixes it. Tessera warns and keeps
 * running rather than refusing to start: the exposure has already happened by the time it
 * starts (refusing does not take a copy back), and a refusal after an upgrade would take down
 * containers and volumes whose files were created world-readable by an older Tessera. Read
 * access for the file's group alone is logged at info level when the signing keys are
 * encrypted: sharing a group with a backup agent is a deliberate, reasonable setup, and then
 * the group sees only secret hashes and the audit trail.
 */
export function logFileExposures(log: Logger, dbPath: string, keysEncrypted: boolean): void {
  for (const e of exposedFiles(dbPath)) {
    const fields = { path: e.path, mode: `0${e.mode.toString(8)}`, access: access(e) };
    if (e.kind === "directory") {
      log.warn(
        fields,
        `users other than its owner can create files in the database folder (a -wal file of their own) and, unless its sticky bit is set, replace or delete the database; run chmod 700 ${e.path}`,
      );
      continue;
    }
    const groupReadOnly = !e.othersRead && !e.othersWrite && !e.groupWrite;
    if (groupReadOnly && keysEncrypted) {
      log.info(
        fields,
        `the database file is readable by its group; the signing keys are encrypted, so members see client secret hashes and the audit trail; run chmod 600 ${e.path} unless that is intended`,
      );
    } else if (keysEncrypted) {
      log.warn(
        fields,
        `users other than its owner can get at a database file: whoever can write it can add an admin client, whoever can read it sees client secret hashes and the audit trail; run chmod 600 ${e.path}`,
      );
    } else {
      log.warn(
        fields,
        `users other than its owner can get at a database file that holds the private signing keys unencrypted: whoever reads it can sign any token, admin tokens included; run chmod 600 ${e.path}, set TESSERA_KEK_FILE, and if anyone may have copied it, tessera keys rotate --force`,
      );
    }
  }
}

function access(e: FileExposure): string {
  const who: string[] = [];
  const verbs = e.kind === "directory" ? ["list", "write"] : ["read", "write"];
  if (e.groupRead) who.push(`group may ${verbs[0]}`);
  if (e.groupWrite) who.push(`group may ${verbs[1]}`);
  if (e.othersRead) who.push(`every local user may ${verbs[0]}`);
  if (e.othersWrite) who.push(`every local user may ${verbs[1]}`);
  return who.join(", ");
}
