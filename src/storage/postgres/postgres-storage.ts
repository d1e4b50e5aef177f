import type { BucketState, BucketTake, BucketTaken, SharedBuckets } from "../../core/ports/shared-buckets.js";
import {
  type AuditEvent,
  type ClientAuthKind,
  ClientExistsError,
  type ClientPatch,
  type ClientRecord,
  type ClientTombstone,
  type ScopeCutoff,
  type SecretRecord,
  type SigningKeyPlan,
  type SigningKeyRecord,
  type Storage,
  StoreNotEmptyError,
  type StoreRecord,
} from "../../core/ports/storage.js";
import { applyClientPatch } from "../client-patch.js";
import { NO_SCOPE_CUTOFFS } from "../scope-cutoffs.js";
import { EXPORT_BATCH, exportBatches, type RevokedRow, type TombstoneRow } from "../store-records.js";
import { ChangeConnection } from "./change-connection.js";
import { parseDatabaseUrl } from "./connection.js";
import { isUnavailable } from "./errors.js";
import * as sql from "./export-sql.js";
import { checkSchema, migrate, migrationStatus } from "./migrations.js";
import { Database, type PoolOptions } from "./pool.js";
import { bucketsChangedSince, pruneBuckets, takeBuckets } from "./shared-buckets.js";
import { BEGIN_AND_BUMP, type TxQuery, writeTransaction } from "./transaction.js";

/** Options for opening a PostgreSQL store. */
export interface PostgresStorageOptions extends PoolOptions {
  /**
   * true (the default): apply pending migrations on open, as the SQLite adapter does. false:
   * refuse with MigrationsPendingError instead, for deployments that migrate in a separate job.
   */
  migrate?: boolean;
  /** Where PGSSLMODE and friends are read from when the URL does not say; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /**
   * true (the default): subscribeChanges() hears of every committed change at once (LISTEN).
   * false: it never calls back, and changes are seen by polling changeToken() alone, as behind
   * a pooler that cannot LISTEN (PgBouncer in transaction mode).
   */
  notify?: boolean;
}

/** One row per secret (or one with null secret columns), as the client queries return them. */
interface ClientSecretRow {
  client_id: string;
  name: string;
  scopes: string[];
  audiences: string[];
  token_ttl_seconds: number;
  disabled: boolean;
  create_time: number;
  update_time: number;
  tokens_not_before: number | null;
  scope_cutoffs: [string, number][];
  auth_method: ClientAuthKind;
  jwks_uri: string | null;
  client_keys: ClientRecord["keys"];
  federated_credentials: ClientRecord["federatedCredentials"];
  secret_id: string | null;
  hash: Buffer | null;
  s_create_time: number | null;
  s_expire_time: number | null;
  s_last_used_time: number | null;
}
interface AuditRow {
  event_id: number;
  time: number;
  actor: string;
  action: string;
  target: string;
  changes: Record<string, unknown>;
  origin: string;
}
interface KeyRow {
  kid: string;
  alg: string;
  private_key: string;
  public_jwk: string;
  status: SigningKeyRecord["status"];
  create_time: number;
  activate_time: number | null;
  retire_time: number | null;
}

const CLIENT_COLUMNS = `c.client_id, c.name, c.scopes, c.audiences, c.token_ttl_seconds, c.disabled, c.create_time,
  c.update_time, c.tokens_not_before, c.scope_cutoffs, c.auth_method, c.jwks_uri, c.client_keys, c.federated_credentials, s.secret_id, s.hash, s.create_time AS s_create_time,
  s.expire_time AS s_expire_time, s.last_used_time AS s_last_used_time`;
// One round trip, one snapshot: the client and its secrets, newest first.
const CLIENT = `SELECT ${CLIENT_COLUMNS} FROM clients c LEFT JOIN client_secrets s ON s.client_id = c.client_id
  WHERE c.client_id = $1 ORDER BY s.create_time DESC, s.secret_id`;
const CLIENT_PAGE = `WITH page AS (SELECT * FROM clients WHERE client_id > $1 ORDER BY client_id LIMIT $2)
  SELECT ${CLIENT_COLUMNS} FROM page c LEFT JOIN client_secrets s ON s.client_id = c.client_id
  ORDER BY c.client_id, s.create_time DESC, s.secret_id`;
const KEYS = "SELECT * FROM signing_keys ORDER BY create_time DESC, kid";
// The rows are locked in secret_id order first, so two processes flushing overlapping batches
// cannot deadlock each other (and a deadlock with a rotation is retried).
const RECORD_USE = `WITH uses AS (SELECT * FROM unnest($1::text[], $2::bigint[]) AS u (secret_id, t)),
  locked AS (SELECT s.secret_id FROM client_secrets s JOIN uses u ON u.secret_id = s.secret_id
             WHERE s.last_used_time IS NULL OR s.last_used_time < u.t ORDER BY s.secret_id FOR UPDATE OF s)
  UPDATE client_secrets s SET last_used_time = u.t FROM uses u, locked l
  WHERE s.secret_id = u.secret_id AND l.secret_id = u.secret_id AND (s.last_used_time IS NULL OR s.last_used_time < u.t)`;
// Tables vacuumed by purgeDeletedData: everything a deleted or overwritten row could linger in.
const PURGED_TABLES = [
  "signing_keys",
  "client_secrets",
  "clients",
  "client_tombstones",
  "meta",
  "revoked_tokens",
  "audit_events",
  "assertion_jtis",
];
// An entry that expired (not yet pruned) may be taken again: its jti is free once the assertion is.
const RECORD_JTI = `INSERT INTO assertion_jtis (client_id, jti, expire_time) VALUES ($1, $2, $3)
  ON CONFLICT (client_id, jti) DO UPDATE SET expire_time = excluded.expire_time WHERE assertion_jtis.expire_time < $4`;

/**
 * The Storage port on PostgreSQL (node-postgres pool). Several processes may share one
 * database: writes serialise on a change-counter row lock (see transaction.ts), which also
 * orders audit ids by commit and gives changeToken() its value. It also keeps the token
 * buckets every replica shares (SharedBuckets, shared-buckets.ts).
 */
export class PostgresStorage implements Storage, SharedBuckets {
  readonly #db: Database;
  /** Reads the change counter and hears NOTIFY, on a connection of its own. */
  readonly #changes: ChangeConnection;
  /** The tail of this instance's queue of writes. */
  #writes: Promise<unknown> = Promise.resolve();

  private constructor(db: Database, notify: boolean) {
    this.#db = db;
    this.#changes = new ChangeConnection(db, notify);
  }

  /**
   * Connects to the database a libpq-style URL names, then migrates it (or, with
   * `migrate: false`, checks that no migration is pending). Errors name the URL with its
   * password redacted: DatabaseUrlError, StorageUnavailableError, SchemaTooNewError,
   * MigrationsPendingError.
   */
  static async open(url: string, options: PostgresStorageOptions = {}): Promise<PostgresStorage> {
    const db = new Database(parseDatabaseUrl(url, options.env), options);
    try {
      if (options.migrate ?? true) await migrate(db);
      else checkSchema(await migrationStatus(db), db.where);
      return new PostgresStorage(db, options.notify ?? true);
    } catch (err) {
      await db.end();
      throw err;
    }
  }

  /** The database URL with its password redacted. */
  get where(): string {
    return this.#db.where;
  }

  /**
   * Runs a write transaction after this instance's earlier ones: writes are serialised by the
   * database's write lock anyway, so queueing them here keeps their order (two calls from one
   * process apply in call order, as the port promises) and holds one pooled connection, not one
   * per waiting write.
   */
  #write<T>(work: Parameters<typeof writeTransaction<T>>[1]): Promise<T> {
    const run = this.#writes.then(() => writeTransaction(this.#db, work));
    this.#writes = run.catch(() => {});
    return run;
  }

  async #read<R extends object>(text: string, values?: unknown[]): Promise<R[]> {
    return (await this.#db.query<R & Record<string, unknown>>(text, values)).rows;
  }

  async getClient(clientId: string): Promise<ClientRecord | undefined> {
    return toClients(await this.#read<ClientSecretRow>(CLIENT, [clientId]))[0];
  }

  async createClient(c: ClientRecord, audit?: AuditEvent): Promise<ClientRecord> {
    return this.#write(async (q) => {
      const stone = (await q<{ t: number }>("SELECT tokens_not_before AS t FROM client_tombstones WHERE client_id = $1", [c.clientId]))
        .rows[0];
      const notBefore = stone ? Math.max(c.tokensNotBefore ?? 0, stone.t) : c.tokensNotBefore;
      try {
        await q(
          `INSERT INTO clients (client_id, name, scopes, audiences, token_ttl_seconds, disabled, create_time, update_time,
             tokens_not_before, scope_cutoffs, auth_method, jwks_uri, client_keys, federated_credentials)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
          [
            c.clientId,
            c.name,
            c.scopes,
            c.audiences,
            c.tokenTtlSeconds,
            c.disabled,
            c.createTime,
            c.updateTime,
            notBefore,
            cutoffsJson(c.scopeCutoffs),
            c.authMethod,
            c.jwksUri,
            JSON.stringify(c.keys),
            JSON.stringify(c.federatedCredentials),
          ],
        );
      } catch (err) {
        const e = err as { code?: string; constraint?: string };
        if (e.code === "23505" && e.constraint === "clients_pkey") {
          throw new ClientExistsError(`client ${JSON.stringify(c.clientId)} already exists`);
        }
        throw err;
      }
      for (const s of c.secrets) await insertSecret(q, c.clientId, s);
      if (stone) await q("DELETE FROM client_tombstones WHERE client_id = $1", [c.clientId]);
      return { value: oneRow(await readClient(q, c.clientId), "the client just inserted"), changed: true, audit };
    });
  }

  async updateClient(clientId: string, patch: ClientPatch, now: number, audit?: AuditEvent): Promise<ClientRecord | undefined> {
    return this.#write(async (q) => {
      // Read under the write lock: the patch applies to the last committed state.
      const cur = await readClient(q, clientId);
      if (!cur) return { value: undefined, changed: false };
      const next = applyClientPatch(cur, patch, now);
      await q(
        `UPDATE clients SET name = $1, scopes = $2, audiences = $3, token_ttl_seconds = $4, disabled = $5,
           tokens_not_before = $6, scope_cutoffs = $7, update_time = $8, auth_method = $10, jwks_uri = $11, client_keys = $12,
           federated_credentials = $13 WHERE client_id = $9`,
        [
          next.name,
          next.scopes,
          next.audiences,
          next.tokenTtlSeconds,
          next.disabled,
          next.tokensNotBefore,
          cutoffsJson(next.scopeCutoffs),
          now,
          clientId,
          next.authMethod,
          next.jwksUri,
          JSON.stringify(next.keys),
          JSON.stringify(next.federatedCredentials),
        ],
      );
      if (next.secrets.length === 0 && cur.secrets.length > 0) await q("DELETE FROM client_secrets WHERE client_id = $1", [clientId]);
      return { value: await readClient(q, clientId), changed: true, audit };
    });
  }

  async deleteClient(clientId: string, audit?: AuditEvent, tombstone?: ClientTombstone): Promise<boolean> {
    return this.#write(async (q) => {
      const gone = ((await q("DELETE FROM clients WHERE client_id = $1", [clientId])).rowCount ?? 0) > 0;
      if (!gone) return { value: false, changed: false };
      if (tombstone) {
        await q(
          `INSERT INTO client_tombstones (client_id, tokens_not_before, expire_time) VALUES ($1, $2, $3)
           ON CONFLICT (client_id) DO UPDATE SET
             tokens_not_before = greatest(client_tombstones.tokens_not_before, excluded.tokens_not_before),
             expire_time = greatest(client_tombstones.expire_time, excluded.expire_time)`,
          [clientId, tombstone.tokensNotBefore, tombstone.expireTime],
        );
      }
      return { value: true, changed: true, audit };
    });
  }

  async listClients(afterId: string, limit: number): Promise<ClientRecord[]> {
    return toClients(await this.#read<ClientSecretRow>(CLIENT_PAGE, [afterId, limit]));
  }

  async rotateSecret(
    clientId: string,
    secret: SecretRecord,
    othersExpireAt: number,
    now: number,
    audit?: AuditEvent,
  ): Promise<ClientRecord | undefined> {
    return this.#write(async (q) => {
      const touched = await q("UPDATE clients SET update_time = $1 WHERE client_id = $2", [now, clientId]);
      if (touched.rowCount === 0) return { value: undefined, changed: false };
      await q("UPDATE client_secrets SET expire_time = $1 WHERE client_id = $2 AND (expire_time IS NULL OR expire_time > $1)", [
        othersExpireAt,
        clientId,
      ]);
      await q("DELETE FROM client_secrets WHERE client_id = $1 AND expire_time IS NOT NULL AND expire_time <= $2", [clientId, now]);
      await insertSecret(q, clientId, secret);
      return { value: await readClient(q, clientId), changed: true, audit };
    });
  }

  async recordSecretUse(uses: ReadonlyMap<string, number>): Promise<void> {
    if (uses.size === 0) return;
    // One statement for the whole batch, outside the write lock: last-used times matter to no cache.
    await this.#db.query(RECORD_USE, [[...uses.keys()], [...uses.values()]]);
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    return (await this.#read<KeyRow>(KEYS)).map(toKey);
  }

  async updateSigningKeys<T>(
    decide: (keys: SigningKeyRecord[]) => SigningKeyPlan<T>,
    audit?: (result: T) => AuditEvent | undefined,
  ): Promise<T> {
    return this.#write(async (q) => {
      // Under the write lock: a second process deciding at once waits here, then sees this plan applied.
      const plan = decide((await q<KeyRow>(KEYS)).rows.map(toKey));
      let changed = 0;
      // Delete every key the plan touches, then insert the new versions: the one-current and
      // one-next indexes are checked per statement, and any valid end state (even a swap) is
      // reachable this way.
      const touched = [...plan.remove, ...plan.upsert.map((k) => k.kid)];
      if (touched.length > 0) changed += (await q("DELETE FROM signing_keys WHERE kid = ANY($1)", [touched])).rowCount ?? 0;
      for (const k of plan.upsert) {
        await q(
          `INSERT INTO signing_keys (kid, alg, private_key, public_jwk, status, create_time, activate_time, retire_time)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (kid) DO UPDATE SET alg = excluded.alg, private_key = excluded.private_key,
             public_jwk = excluded.public_jwk, status = excluded.status, create_time = excluded.create_time,
             activate_time = excluded.activate_time, retire_time = excluded.retire_time`,
          [k.kid, k.alg, k.privateKey, k.publicJwk, k.status, k.createTime, k.activateTime, k.retireTime],
        );
        changed++;
      }
      return { value: plan.result, changed: changed > 0, audit: audit?.(plan.result) };
    });
  }

  async revokeToken(jti: string, clientId: string, expireTime: number): Promise<void> {
    return this.#write(async (q) => {
      const r = await q("INSERT INTO revoked_tokens (jti, client_id, expire_time) VALUES ($1, $2, $3) ON CONFLICT (jti) DO NOTHING", [
        jti,
        clientId,
        expireTime,
      ]);
      return { value: undefined, changed: (r.rowCount ?? 0) > 0 };
    });
  }

  async isTokenRevoked(jti: string): Promise<boolean> {
    return (await this.#read("SELECT 1 FROM revoked_tokens WHERE jti = $1", [jti])).length > 0;
  }

  async pruneRevokedTokens(before: number): Promise<number> {
    return this.#write(async (q) => {
      const stones = (await q("DELETE FROM client_tombstones WHERE expire_time < $1", [before])).rowCount ?? 0;
      const revoked = (await q("DELETE FROM revoked_tokens WHERE expire_time < $1", [before])).rowCount ?? 0;
      return { value: revoked, changed: stones + revoked > 0 };
    });
  }

  async listAuditEvents(beforeId: number | undefined, limit: number, target?: string): Promise<AuditEvent[]> {
    const before = beforeId ?? Number.MAX_SAFE_INTEGER;
    const rows = await this.#read<AuditRow>(
      target === undefined
        ? "SELECT * FROM audit_events WHERE event_id < $1 ORDER BY event_id DESC LIMIT $2"
        : "SELECT * FROM audit_events WHERE event_id < $1 AND target = $3 ORDER BY event_id DESC LIMIT $2",
      target === undefined ? [before, limit] : [before, limit, target],
    );
    return rows.map(toAuditEvent);
  }

  async counts(): Promise<{ clients: number; revokedTokens: number }> {
    const [r] = await this.#read<{ clients: number; revoked: number }>(
      "SELECT (SELECT count(*) FROM clients) AS clients, (SELECT count(*) FROM revoked_tokens) AS revoked",
    );
    const counted = oneRow(r, "counting clients");
    return { clients: counted.clients, revokedTokens: counted.revoked };
  }

  async getMeta(key: string): Promise<string | undefined> {
    return (await this.#read<{ value: string }>("SELECT value FROM meta WHERE key = $1", [key]))[0]?.value;
  }

  async setMeta(key: string, value: string, overwrite: boolean): Promise<boolean> {
    return this.#write(async (q) => {
      const r = await q(
        overwrite
          ? "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
          : "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        [key, value],
      );
      const wrote = (r.rowCount ?? 0) > 0;
      return { value: wrote, changed: wrote };
    });
  }

  async purgeDeletedData(): Promise<void> {
    // VACUUM FULL writes each table anew from its live rows and drops the old files, so old row
    // versions (a private key before it was encrypted) are gone from the tables. PostgreSQL's
    // write-ahead log, archives and backups keep them until they are recycled: that is the
    // operator's retention, not something a client can rewrite.
    // VACUUM only warns, and skips the table, when the role does not own it: refuse instead.
    const { rows } = await this.#db.query<{ name: string }>(
      "SELECT relname AS name FROM pg_class WHERE oid = ANY($1::regclass[]) AND NOT pg_has_role(relowner, 'USAGE')",
      [PURGED_TABLES],
    );
    if (rows.length > 0) {
      throw new Error(
        `cannot purge deleted data: the database role does not own ${rows.map((r) => r.name).join(", ")} (VACUUM FULL needs the owner)`,
      );
    }
    await this.#db.query(`VACUUM (FULL) ${PURGED_TABLES.join(", ")}`);
  }

  async changeToken(): Promise<number> {
    // On the change connection: a poll never waits for, nor takes, a pooled connection.
    return this.#changes.counter();
  }

  async close(): Promise<void> {
    await this.#changes.close();
    await this.#db.end();
  }

  async recordAssertionJti(clientId: string, jti: string, expireTime: number, now: number): Promise<boolean> {
    // One statement outside the write lock: the primary key makes it atomic across processes,
    // and no cache of clients needs to hear of it (no change-counter bump).
    const r = await this.#db.query(RECORD_JTI, [clientId, jti, expireTime, now]);
    return (r.rowCount ?? 0) > 0;
  }

  async pruneAssertionJtis(before: number): Promise<number> {
    return (await this.#db.query("DELETE FROM assertion_jtis WHERE expire_time < $1", [before])).rowCount ?? 0;
  }

  async recordAuditEvents(events: readonly AuditEvent[]): Promise<void> {
    if (events.length === 0) return;
    // Under the write lock like every audited change, so audit ids keep increasing in commit order.
    return this.#write(async (q) => {
      for (const e of events) {
        await q("INSERT INTO audit_events (time, actor, action, target, changes, origin) VALUES ($1, $2, $3, $4, $5, $6)", [
          e.time,
          e.actor,
          e.action,
          e.target,
          JSON.stringify(e.changes),
          e.origin,
        ]);
      }
      return { value: undefined, changed: true };
    });
  }

  subscribeChanges(listener: () => void): () => void {
    return this.#changes.subscribe(listener);
  }

  takeBuckets(takes: readonly BucketTake[], now: number): Promise<BucketTaken[]> {
    return takeBuckets(this.#db, takes, now);
  }

  bucketsChangedSince(cursor: number | undefined): Promise<{ buckets: BucketState[]; cursor: number }> {
    // A background poll: on the change connection, never a pooled one.
    return bucketsChangedSince((text, values) => this.#changes.query(text, values), cursor);
  }

  pruneBuckets(now: number): Promise<number> {
    return pruneBuckets(this.#db, now);
  }

  async *exportRecords(): AsyncIterable<StoreRecord[]> {
    const client = await this.#db.connect();
    let broken: Error | undefined;
    try {
      // Every page from one snapshot, however long the consumer takes between them.
      await client.query(sql.BEGIN_SNAPSHOT);
      const q: TxQuery = (text, values) => client.query(text, values);
      yield* exportBatches({
        meta: async () => (await q<{ key: string; value: string }>(sql.EXPORT_META)).rows,
        keys: async () => (await q<KeyRow>(sql.EXPORT_KEYS)).rows.map(toKey),
        clients: async (after) => toClients((await q<ClientSecretRow>(CLIENT_PAGE, [after, EXPORT_BATCH])).rows),
        tombstones: async (after) => (await q<TombstoneRow>(sql.EXPORT_TOMBSTONES, [after, EXPORT_BATCH])).rows,
        revoked: async (after) => (await q<RevokedRow>(sql.EXPORT_REVOKED, [after, EXPORT_BATCH])).rows,
        auditEvents: async (after) => (await q<AuditRow>(sql.EXPORT_AUDIT, [after, EXPORT_BATCH])).rows.map(toAuditEvent),
      });
      await client.query("COMMIT");
    } catch (err) {
      broken = err as Error;
      throw this.#db.error(err);
    } finally {
      // Abandoned by its consumer, or failed: end the snapshot (a broken connection is discarded instead).
      if (broken === undefined) await client.query("ROLLBACK").catch((e: unknown) => (broken = e as Error));
      client.release(broken);
    }
  }

  async importRecords(batches: AsyncIterable<readonly StoreRecord[]>, options: { replace: boolean }): Promise<void> {
    // Not writeTransaction: its retries would need the batches again, and they can be read only once.
    const client = await this.#db.connect();
    let broken: Error | undefined;
    try {
      await client.query(BEGIN_AND_BUMP);
      const q: TxQuery = (text, values) => client.query(text, values);
      const found = Object.entries((await q<Record<string, string>>(sql.COUNT_EVERYTHING)).rows[0] ?? {}).filter(([, n]) => Number(n) > 0);
      if (found.length > 0 && !options.replace) throw new StoreNotEmptyError(Object.fromEntries(found.map(([k, n]) => [k, Number(n)])));
      if (options.replace) await q(sql.DELETE_EVERYTHING);
      for await (const batch of batches) await importBatch(q, batch);
      await q(sql.ADVANCE_AUDIT_IDS);
      await client.query("COMMIT");
    } catch (err) {
      if (err instanceof StoreNotEmptyError || !isUnavailable(err))
        await client.query("ROLLBACK").catch((e: unknown) => (broken = e as Error));
      else broken = err as Error;
      throw this.#db.error(err);
    } finally {
      client.release(broken);
    }
  }
}

/** The row a query that always returns one did return; its absence means a broken database, said plainly. */
function oneRow<T>(row: T | undefined, what: string): T {
  if (row === undefined) throw new Error(`${what}: the database returned no row`);
  return row;
}

async function readClient(q: TxQuery, clientId: string): Promise<ClientRecord | undefined> {
  return toClients((await q<ClientSecretRow>(CLIENT, [clientId])).rows)[0];
}

async function insertSecret(q: TxQuery, clientId: string, s: SecretRecord): Promise<void> {
  await q(
    "INSERT INTO client_secrets (secret_id, client_id, hash, create_time, expire_time, last_used_time) VALUES ($1, $2, $3, $4, $5, $6)",
    [s.secretId, clientId, Buffer.from(s.hash), s.createTime, s.expireTime, s.lastUsedTime],
  );
}

/** Groups joined client/secret rows (ordered by client) into records. */
function toClients(rows: ClientSecretRow[]): ClientRecord[] {
  const out: ClientRecord[] = [];
  let last: ClientRecord | undefined;
  for (const r of rows) {
    if (last?.clientId !== r.client_id) {
      last = {
        clientId: r.client_id,
        name: r.name,
        scopes: r.scopes,
        audiences: r.audiences,
        tokenTtlSeconds: r.token_ttl_seconds,
        disabled: r.disabled,
        createTime: r.create_time,
        updateTime: r.update_time,
        tokensNotBefore: r.tokens_not_before,
        scopeCutoffs: r.scope_cutoffs.length === 0 ? NO_SCOPE_CUTOFFS : r.scope_cutoffs.map(([scope, notBefore]) => ({ scope, notBefore })),
        secrets: [],
        authMethod: r.auth_method,
        keys: r.client_keys,
        jwksUri: r.jwks_uri,
        federatedCredentials: r.federated_credentials,
      };
      out.push(last);
    }
    // The secret's columns are NOT NULL: the LEFT JOIN leaves them null only with secret_id.
    if (r.secret_id !== null && r.hash !== null && r.s_create_time !== null) {
      last.secrets.push({
        secretId: r.secret_id,
        hash: r.hash,
        createTime: r.s_create_time,
        expireTime: r.s_expire_time,
        lastUsedTime: r.s_last_used_time,
      });
    }
  }
  return out;
}

function toAuditEvent(r: AuditRow): AuditEvent & { eventId: number } {
  return { eventId: r.event_id, time: r.time, actor: r.actor, action: r.action, target: r.target, changes: r.changes, origin: r.origin };
}

// long: one multi-row INSERT per record kind, each beside its columns; split per kind, the
// statements would be read apart from the one list that says which kinds a batch may hold.
/** Inserts one batch of imported records, one statement per kind present. */
async function importBatch(q: TxQuery, batch: readonly StoreRecord[]): Promise<void> {
  const of = <K extends StoreRecord["kind"]>(kind: K) => batch.filter((r): r is Extract<StoreRecord, { kind: K }> => r.kind === kind);
  const run = async (text: string, rows: unknown[]) => {
    if (rows.length > 0) await q(text, [JSON.stringify(rows)]);
  };
  await run(
    sql.IMPORT_META,
    of("meta").map((r) => ({ key: r.key, value: r.value })),
  );
  await run(
    sql.IMPORT_KEYS,
    of("signing_key").map(({ key: k }) => ({
      kid: k.kid,
      alg: k.alg,
      private_key: k.privateKey,
      public_jwk: k.publicJwk,
      status: k.status,
      create_time: k.createTime,
      activate_time: k.activateTime,
      retire_time: k.retireTime,
    })),
  );
  const clients = of("client").map((r) => r.client);
  await run(
    sql.IMPORT_CLIENTS,
    clients.map((c) => ({
      client_id: c.clientId,
      name: c.name,
      scopes: c.scopes,
      audiences: c.audiences,
      token_ttl_seconds: c.tokenTtlSeconds,
      disabled: c.disabled,
      create_time: c.createTime,
      update_time: c.updateTime,
      tokens_not_before: c.tokensNotBefore,
      scope_cutoffs: c.scopeCutoffs.map((x) => [x.scope, x.notBefore]),
      auth_method: c.authMethod,
      jwks_uri: c.jwksUri,
      client_keys: c.keys,
      federated_credentials: c.federatedCredentials,
    })),
  );
  await run(
    sql.IMPORT_SECRETS,
    clients.flatMap((c) =>
      c.secrets.map((s) => ({
        secret_id: s.secretId,
        client_id: c.clientId,
        hash: Buffer.from(s.hash).toString("hex"),
        create_time: s.createTime,
        expire_time: s.expireTime,
        last_used_time: s.lastUsedTime,
      })),
    ),
  );
  await run(
    sql.IMPORT_TOMBSTONES,
    of("client_tombstone").map((r) => ({
      client_id: r.clientId,
      tokens_not_before: r.tombstone.tokensNotBefore,
      expire_time: r.tombstone.expireTime,
    })),
  );
  await run(
    sql.IMPORT_REVOKED,
    of("revoked_token").map((r) => ({ jti: r.jti, client_id: r.clientId, expire_time: r.expireTime })),
  );
  await run(
    sql.IMPORT_AUDIT,
    of("audit_event").map(({ event: e }) => ({
      event_id: e.eventId,
      time: e.time,
      actor: e.actor,
      action: e.action,
      target: e.target,
      changes: JSON.stringify(e.changes),
      origin: e.origin,
    })),
  );
}

function toKey(r: KeyRow): SigningKeyRecord {
  return {
    kid: r.kid,
    alg: r.alg,
    privateKey: r.private_key,
    publicJwk: r.public_jwk,
    status: r.status,
    createTime: r.create_time,
    activateTime: r.activate_time,
    retireTime: r.retire_time,
  };
}

/** Scope cut-offs as stored: a JSON array of [scope, not-before ms] pairs. */
function cutoffsJson(cutoffs: readonly ScopeCutoff[]): string {
  return JSON.stringify(cutoffs.map((c) => [c.scope, c.notBefore]));
}
