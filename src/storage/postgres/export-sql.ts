// The statements of exportRecords and importRecords: every table in the byte order of its key
// ("C" collation, as SQLite's BINARY), a page at a time; batches inserted from one JSON
// parameter each (json_to_recordset), so a copy of 100,000 clients is hundreds of statements,
// not hundreds of thousands.

/** Opens the snapshot every page of an export is read from. */
export const BEGIN_SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

export const EXPORT_META = `SELECT key, value FROM meta ORDER BY key COLLATE "C"`;
export const EXPORT_KEYS = "SELECT * FROM signing_keys ORDER BY kid";
export const EXPORT_TOMBSTONES =
  "SELECT client_id, tokens_not_before, expire_time FROM client_tombstones WHERE client_id > $1 ORDER BY client_id LIMIT $2";
export const EXPORT_REVOKED = `SELECT jti, client_id, expire_time FROM revoked_tokens WHERE jti COLLATE "C" > $1 ORDER BY jti COLLATE "C" LIMIT $2`;
export const EXPORT_AUDIT = "SELECT * FROM audit_events WHERE event_id > $1 ORDER BY event_id LIMIT $2";

/** How many rows each table holds (an import refuses a store that holds any). */
export const COUNT_EVERYTHING = `SELECT (SELECT count(*) FROM meta) AS meta, (SELECT count(*) FROM signing_keys) AS signing_key,
  (SELECT count(*) FROM clients) AS client, (SELECT count(*) FROM client_tombstones) AS client_tombstone,
  (SELECT count(*) FROM revoked_tokens) AS revoked_token, (SELECT count(*) FROM audit_events) AS audit_event`;

/** Deletes everything an import replaces (secrets go with their clients; shared buckets are not the store's content). */
export const DELETE_EVERYTHING =
  "DELETE FROM meta; DELETE FROM signing_keys; DELETE FROM clients; DELETE FROM client_tombstones; DELETE FROM revoked_tokens; DELETE FROM audit_events; DELETE FROM assertion_jtis";

/** A text[] from a JSON array, in the array's order. */
const textArray = (field: string) => `ARRAY(SELECT e FROM json_array_elements_text(${field}) WITH ORDINALITY AS x (e, i) ORDER BY i)`;

export const IMPORT_META = `INSERT INTO meta (key, value) SELECT key, value FROM json_to_recordset($1::json) AS r (key text, value text)`;
export const IMPORT_KEYS = `INSERT INTO signing_keys (kid, alg, private_key, public_jwk, status, create_time, activate_time, retire_time)
  SELECT kid, alg, private_key, public_jwk, status, create_time, activate_time, retire_time FROM json_to_recordset($1::json)
  AS r (kid text, alg text, private_key text, public_jwk text, status text, create_time bigint, activate_time bigint, retire_time bigint)`;
export const IMPORT_CLIENTS = `INSERT INTO clients (client_id, name, scopes, audiences, token_ttl_seconds, disabled, create_time, update_time, tokens_not_before, scope_cutoffs,
    auth_method, jwks_uri, client_keys, federated_credentials)
  SELECT client_id, name, ${textArray("scopes")}, ${textArray("audiences")}, token_ttl_seconds, disabled, create_time, update_time, tokens_not_before, scope_cutoffs::jsonb,
    auth_method, jwks_uri, client_keys::jsonb, federated_credentials::jsonb
  FROM json_to_recordset($1::json) AS r (client_id text, name text, scopes json, audiences json, token_ttl_seconds bigint, disabled boolean,
    create_time bigint, update_time bigint, tokens_not_before bigint, scope_cutoffs json, auth_method text, jwks_uri text, client_keys json, federated_credentials json)`;
export const IMPORT_SECRETS = `INSERT INTO client_secrets (secret_id, client_id, hash, create_time, expire_time, last_used_time)
  SELECT secret_id, client_id, decode(hash, 'hex'), create_time, expire_time, last_used_time FROM json_to_recordset($1::json)
  AS r (secret_id text, client_id text, hash text, create_time bigint, expire_time bigint, last_used_time bigint)`;
export const IMPORT_TOMBSTONES = `INSERT INTO client_tombstones (client_id, tokens_not_before, expire_time)
  SELECT client_id, tokens_not_before, expire_time FROM json_to_recordset($1::json) AS r (client_id text, tokens_not_before bigint, expire_time bigint)`;
export const IMPORT_REVOKED = `INSERT INTO revoked_tokens (jti, client_id, expire_time)
  SELECT jti, client_id, expire_time FROM json_to_recordset($1::json) AS r (jti text, client_id text, expire_time bigint)`;
// changes arrives as a JSON string holding the object's text, so the json column keeps it as written.
export const IMPORT_AUDIT = `INSERT INTO audit_events (event_id, time, actor, action, target, changes, origin)
  SELECT event_id, time, actor, action, target, changes::json, origin FROM json_to_recordset($1::json)
  AS r (event_id bigint, time bigint, actor text, action text, target text, changes text, origin text)`;
/** After importing audit ids, the next event gets a higher one. */
export const ADVANCE_AUDIT_IDS = "SELECT setval(pg_get_serial_sequence('audit_events', 'event_id'), max(event_id)) FROM audit_events";
