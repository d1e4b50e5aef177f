import type { Database } from "better-sqlite3";
import { SchemaTooNewError } from "../../core/ports/storage.js";

// Re-exported: callers that knew it from here keep working; every adapter throws the same class.
export { SchemaTooNewError };

/**
 * Schema migrations, oldest first. The file's `PRAGMA user_version` is the number of
 * migrations applied, so a newer Tessera upgrades an older file in place, and an older
 * Tessera refuses a newer file instead of misreading it. Never edit a released entry; append.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE clients (
     client_id         TEXT PRIMARY KEY,
     name              TEXT NOT NULL,
     scopes            TEXT NOT NULL,  -- JSON array of strings
     audiences         TEXT NOT NULL,  -- JSON array of strings
     token_ttl_seconds INTEGER NOT NULL,
     disabled          INTEGER NOT NULL DEFAULT 0,
     create_time       INTEGER NOT NULL,
     update_time       INTEGER NOT NULL
   ) STRICT;
   CREATE TABLE client_secrets (
     secret_id      TEXT PRIMARY KEY,
     client_id      TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
     hash           BLOB NOT NULL,
     create_time    INTEGER NOT NULL,
     expire_time    INTEGER,
     last_used_time INTEGER
   ) STRICT;
   CREATE INDEX client_secrets_by_client ON client_secrets(client_id);
   CREATE TABLE signing_keys (
     kid         TEXT PRIMARY KEY,
     alg         TEXT NOT NULL,
     private_jwk TEXT NOT NULL,
     public_jwk  TEXT NOT NULL,
     status      TEXT NOT NULL CHECK (status IN ('current', 'retired')),
     create_time INTEGER NOT NULL,
     retire_time INTEGER
   ) STRICT;
   CREATE UNIQUE INDEX one_current_signing_key ON signing_keys(status) WHERE status = 'current';
   CREATE TABLE meta (
     key   TEXT PRIMARY KEY,
     value TEXT NOT NULL
   ) STRICT;`,
  // 2: key lifecycle (next/current/retired, keys encrypted at rest), client cut-off,
  // revocation deny-list. SQLite cannot alter a CHECK constraint: rebuild signing_keys.
  `CREATE TABLE signing_keys_new (
     kid           TEXT PRIMARY KEY,
     alg           TEXT NOT NULL,
     private_key   TEXT NOT NULL,  -- private JWK JSON, or an AES-256-GCM envelope of it
     public_jwk    TEXT NOT NULL,
     status        TEXT NOT NULL CHECK (status IN ('next', 'current', 'retired')),
     create_time   INTEGER NOT NULL,
     activate_time INTEGER,
     retire_time   INTEGER
   ) STRICT;
   INSERT INTO signing_keys_new (kid, alg, private_key, public_jwk, status, create_time, activate_time, retire_time)
     SELECT kid, alg, private_jwk, public_jwk, status, create_time, create_time, retire_time FROM signing_keys;
   DROP TABLE signing_keys;
   ALTER TABLE signing_keys_new RENAME TO signing_keys;
   CREATE UNIQUE INDEX one_current_signing_key ON signing_keys(status) WHERE status = 'current';
   CREATE UNIQUE INDEX one_next_signing_key ON signing_keys(status) WHERE status = 'next';
   ALTER TABLE clients ADD COLUMN tokens_not_before INTEGER;
   CREATE TABLE revoked_tokens (
     jti         TEXT PRIMARY KEY,
     client_id   TEXT NOT NULL,
     expire_time INTEGER NOT NULL
   ) STRICT;
   CREATE INDEX revoked_tokens_by_expiry ON revoked_tokens(expire_time);`,
  // 3: audit trail of administrative changes.
  `CREATE TABLE audit_events (
     event_id INTEGER PRIMARY KEY AUTOINCREMENT,
     time     INTEGER NOT NULL,
     actor    TEXT NOT NULL,
     action   TEXT NOT NULL,
     target   TEXT NOT NULL,
     changes  TEXT NOT NULL,  -- JSON object
     origin   TEXT NOT NULL
   ) STRICT;
   CREATE INDEX audit_events_by_target ON audit_events(target, event_id);`,
  // 4: cut-offs that outlive a change: per scope taken from a client (re-adding the scope does
  // not revive its old tokens), and per deleted client id (re-creating it does not either).
  `ALTER TABLE clients ADD COLUMN scope_cutoffs TEXT NOT NULL DEFAULT '[]';  -- JSON [[scope, not-before ms], ...]
   CREATE TABLE client_tombstones (
     client_id         TEXT PRIMARY KEY,
     tokens_not_before INTEGER NOT NULL,
     expire_time       INTEGER NOT NULL
   ) STRICT;
   CREATE INDEX client_tombstones_by_expiry ON client_tombstones(expire_time);`,
  // 5: clients without secrets: private_key_jwt keys or a jwks_uri, federated credentials, and
  // the replay store of their assertions' jti (each used once until it expires).
  `ALTER TABLE clients ADD COLUMN auth_method TEXT NOT NULL DEFAULT 'client_secret'
     CHECK (auth_method IN ('client_secret', 'private_key_jwt', 'federated'));
   ALTER TABLE clients ADD COLUMN jwks_uri TEXT;
   ALTER TABLE clients ADD COLUMN client_keys TEXT NOT NULL DEFAULT '[]';             -- JSON [{kid, jwk, createTime}, ...]
   ALTER TABLE clients ADD COLUMN federated_credentials TEXT NOT NULL DEFAULT '[]';   -- JSON [FederatedCredential, ...]
   CREATE TABLE assertion_jtis (
     client_id   TEXT NOT NULL,
     jti         TEXT NOT NULL,
     expire_time INTEGER NOT NULL,
     PRIMARY KEY (client_id, jti)
   ) STRICT, WITHOUT ROWID;
   CREATE INDEX assertion_jtis_by_expiry ON assertion_jtis(expire_time);`,
];

/** Brings the schema up to date inside one transaction per migration. */
export function migrate(db: Database): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new SchemaTooNewError(
      `The database has schema version ${current}, newer than this Tessera understands (${MIGRATIONS.length}); upgrade Tessera.`,
    );
  }
  MIGRATIONS.slice(current).forEach((sql, k) => {
    const v = current + k;
    db.transaction(() => {
      // Re-check under the write lock: another process may have migrated meanwhile.
      const now = db.pragma("user_version", { simple: true }) as number;
      if (now > v) return;
      db.exec(sql);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  });
}

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;
