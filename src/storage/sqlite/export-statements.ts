import type Database from "better-sqlite3";
// Named here so the return type below can be written out in the declaration file.
import type { Statement } from "better-sqlite3";
import type { RevokedRow, TombstoneRow } from "../store-records.js";

interface KeyRow {
  kid: string;
  alg: string;
  private_key: string;
  public_jwk: string;
  status: "next" | "current" | "retired";
  create_time: number;
  activate_time: number | null;
  retire_time: number | null;
}
interface AuditRow {
  event_id: number;
  time: number;
  actor: string;
  action: string;
  target: string;
  changes: string;
  origin: string;
}
type AuditValues = [eventId: number, time: number, actor: string, action: string, target: string, changes: string, origin: string];
interface CountsRow {
  meta: number;
  signing_key: number;
  client: number;
  client_tombstone: number;
  revoked_token: number;
  audit_event: number;
}

/** The statements of prepareExportStatements, by name. */
export interface ExportStatements {
  meta: Statement<[], { key: string; value: string }>;
  keys: Statement<[], KeyRow>;
  tombstones: Statement<[after: string, limit: number], TombstoneRow>;
  revoked: Statement<[after: string, limit: number], RevokedRow>;
  audit: Statement<[after: number, limit: number], AuditRow>;
  insertAudit: Statement<AuditValues>;
  counts: Statement<[], CountsRow>;
}

/** Rows of every table, by the byte order of their keys, for export; and what import needs besides the store's own statements. */
export function prepareExportStatements(db: Database.Database): ExportStatements {
  return {
    meta: db.prepare<[], { key: string; value: string }>("SELECT key, value FROM meta ORDER BY key"),
    keys: db.prepare<[], KeyRow>("SELECT * FROM signing_keys ORDER BY kid"),
    tombstones: db.prepare<[after: string, limit: number], TombstoneRow>(
      "SELECT client_id, tokens_not_before, expire_time FROM client_tombstones WHERE client_id > ? ORDER BY client_id LIMIT ?",
    ),
    revoked: db.prepare<[after: string, limit: number], RevokedRow>(
      "SELECT jti, client_id, expire_time FROM revoked_tokens WHERE jti > ? ORDER BY jti LIMIT ?",
    ),
    audit: db.prepare<[after: number, limit: number], AuditRow>("SELECT * FROM audit_events WHERE event_id > ? ORDER BY event_id LIMIT ?"),
    insertAudit: db.prepare<AuditValues>(
      "INSERT INTO audit_events (event_id, time, actor, action, target, changes, origin) VALUES (?, ?, ?, ?, ?, ?, ?)",
    ),
    counts: db.prepare<[], CountsRow>(
      `SELECT (SELECT count(*) FROM meta) AS meta, (SELECT count(*) FROM signing_keys) AS signing_key, (SELECT count(*) FROM clients) AS client,
         (SELECT count(*) FROM client_tombstones) AS client_tombstone, (SELECT count(*) FROM revoked_tokens) AS revoked_token,
         (SELECT count(*) FROM audit_events) AS audit_event`,
    ),
  };
}

/** Deletes everything a store holds (import with replace). Secrets go with their clients. */
export const DELETE_EVERYTHING = `DELETE FROM meta; DELETE FROM signing_keys; DELETE FROM clients; DELETE FROM client_tombstones;
  DELETE FROM revoked_tokens; DELETE FROM audit_events; DELETE FROM assertion_jtis;`;
