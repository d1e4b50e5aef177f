import type { Statement } from "better-sqlite3";
import Database from "better-sqlite3";
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
  StorageUnavailableError,
  StoreNotEmptyError,
  type StoreRecord,
} from "../../core/ports/storage.js";
import { applyClientPatch } from "../client-patch.js";
import { NO_SCOPE_CUTOFFS } from "../scope-cutoffs.js";
import { EXPORT_BATCH, exportBatches } from "../store-records.js";
import { DELETE_EVERYTHING, prepareExportStatements } from "./export-statements.js";
import { migrate, SchemaTooNewError } from "./migrations.js";
import { createPrivateFile } from "./private-files.js";
import { switchToWal } from "./wal-mode.js";

interface ClientRow {
  client_id: string;
  name: string;
  scopes: string;
  audiences: string;
  token_ttl_seconds: number;
  disabled: number;
  create_time: number;
  update_time: number;
  tokens_not_before: number | null;
  scope_cutoffs: string;
  auth_method: ClientAuthKind;
  jwks_uri: string | null;
  client_keys: string;
  federated_credentials: string;
}
interface SecretRow {
  secret_id: string;
  hash: Buffer;
  create_time: number;
  expire_time: number | null;
  last_used_time: number | null;
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

/** Options for opening a SQLite store. */
export interface SqliteStorageOptions {
  /** How long a writer waits for another process's lock before failing. */
  busyTimeoutMs?: number;
  readonly?: boolean;
}

type Nullable = number | null;
interface AuditRow {
  event_id: number;
  time: number;
  actor: string;
  action: string;
  target: string;
  changes: string;
  origin: string;
}

/**
 * Every statement the store runs, prepared once, each with its parameters and row type: a
 * misspelt name or a wrong parameter does not compile.
 */
// long: one table of every SQL statement, read as a list; splitting it would only scatter it.
function prepareStatements(db: Database.Database) {
  return {
    client: db.prepare<[clientId: string], ClientRow>("SELECT * FROM clients WHERE client_id = ?"),
    secrets: db.prepare<[clientId: string], SecretRow>(
      "SELECT secret_id, hash, create_time, expire_time, last_used_time FROM client_secrets WHERE client_id = ? ORDER BY create_time DESC, secret_id",
    ),
    insertClient: db.prepare<
      [string, string, string, string, number, number, number, number, Nullable, string, ClientAuthKind, string | null, string, string]
    >(
      `INSERT INTO clients (client_id, name, scopes, audiences, token_ttl_seconds, disabled, create_time, update_time, tokens_not_before, scope_cutoffs,
         auth_method, jwks_uri, client_keys, federated_credentials) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    tombstone: db.prepare<[clientId: string], { tokens_not_before: number }>(
      "SELECT tokens_not_before FROM client_tombstones WHERE client_id = ?",
    ),
    dropTombstone: db.prepare<[clientId: string]>("DELETE FROM client_tombstones WHERE client_id = ?"),
    putTombstone: db.prepare<[clientId: string, tokensNotBefore: number, expireTime: number]>(
      `INSERT INTO client_tombstones (client_id, tokens_not_before, expire_time) VALUES (?, ?, ?)
       ON CONFLICT (client_id) DO UPDATE SET tokens_not_before = max(tokens_not_before, excluded.tokens_not_before),
         expire_time = max(expire_time, excluded.expire_time)`,
    ),
    pruneTombstones: db.prepare<[before: number]>("DELETE FROM client_tombstones WHERE expire_time < ?"),
    insertSecret: db.prepare<
      [secretId: string, clientId: string, hash: Buffer, createTime: number, expireTime: Nullable, lastUsedTime: Nullable]
    >("INSERT INTO client_secrets (secret_id, client_id, hash, create_time, expire_time, last_used_time) VALUES (?, ?, ?, ?, ?, ?)"),
    updateClient: db.prepare<
      [string, string, string, number, number, Nullable, string, number, ClientAuthKind, string | null, string, string, string]
    >(
      `UPDATE clients SET name = ?, scopes = ?, audiences = ?, token_ttl_seconds = ?, disabled = ?, tokens_not_before = ?, scope_cutoffs = ?, update_time = ?,
         auth_method = ?, jwks_uri = ?, client_keys = ?, federated_credentials = ? WHERE client_id = ?`,
    ),
    dropSecrets: db.prepare<[clientId: string]>("DELETE FROM client_secrets WHERE client_id = ?"),
    deleteClient: db.prepare<[clientId: string]>("DELETE FROM clients WHERE client_id = ?"),
    list: db.prepare<[afterId: string, limit: number], ClientRow>("SELECT * FROM clients WHERE client_id > ? ORDER BY client_id LIMIT ?"),
    pruneSecrets: db.prepare<[clientId: string, now: number]>(
      "DELETE FROM client_secrets WHERE client_id = ? AND expire_time IS NOT NULL AND expire_time <= ?",
    ),
    capSecrets: db.prepare<[expireAt: number, clientId: string, expireAtAgain: number]>(
      "UPDATE client_secrets SET expire_time = ? WHERE client_id = ? AND (expire_time IS NULL OR expire_time > ?)",
    ),
    touchClient: db.prepare<[updateTime: number, clientId: string]>("UPDATE clients SET update_time = ? WHERE client_id = ?"),
    useSecret: db.prepare<[time: number, secretId: string, timeAgain: number]>(
      "UPDATE client_secrets SET last_used_time = ? WHERE secret_id = ? AND (last_used_time IS NULL OR last_used_time < ?)",
    ),
    keys: db.prepare<[], KeyRow>("SELECT * FROM signing_keys ORDER BY create_time DESC, kid"),
    deleteKey: db.prepare<[kid: string]>("DELETE FROM signing_keys WHERE kid = ?"),
    upsertKey: db.prepare<[string, string, string, string, string, number, Nullable, Nullable]>(
      `INSERT INTO signing_keys (kid, alg, private_key, public_jwk, status, create_time, activate_time, retire_time)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (kid) DO UPDATE SET alg = excluded.alg, private_key = excluded.private_key,
         public_jwk = excluded.public_jwk, status = excluded.status, create_time = excluded.create_time,
         activate_time = excluded.activate_time, retire_time = excluded.retire_time`,
    ),
    revoke: db.prepare<[jti: string, clientId: string, expireTime: number]>(
      "INSERT INTO revoked_tokens (jti, client_id, expire_time) VALUES (?, ?, ?) ON CONFLICT (jti) DO NOTHING",
    ),
    isRevoked: db.prepare<[jti: string], 1>("SELECT 1 FROM revoked_tokens WHERE jti = ?"),
    pruneRevoked: db.prepare<[before: number]>("DELETE FROM revoked_tokens WHERE expire_time < ?"),
    insertAudit: db.prepare<[time: number, actor: string, action: string, target: string, changes: string, origin: string]>(
      "INSERT INTO audit_events (time, actor, action, target, changes, origin) VALUES (?, ?, ?, ?, ?, ?)",
    ),
    audit: db.prepare<[beforeId: number, limit: number], AuditRow>(
      "SELECT * FROM audit_events WHERE event_id < ? ORDER BY event_id DESC LIMIT ?",
    ),
    auditFor: db.prepare<[target: string, beforeId: number, limit: number], AuditRow>(
      "SELECT * FROM audit_events WHERE target = ? AND event_id < ? ORDER BY event_id DESC LIMIT ?",
    ),
    countClients: db.prepare<[], { n: number }>("SELECT count(*) AS n FROM clients"),
    countRevoked: db.prepare<[], { n: number }>("SELECT count(*) AS n FROM revoked_tokens"),
    getMeta: db.prepare<[key: string], { value: string }>("SELECT value FROM meta WHERE key = ?"),
    insertMeta: db.prepare<[key: string, value: string]>("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING"),
    upsertMeta: db.prepare<[key: string, value: string]>(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ),
    // An entry that expired (not yet pruned) may be taken again: its jti is free once the assertion is.
    recordJti: db.prepare<[clientId: string, jti: string, expireTime: number, now: number]>(
      `INSERT INTO assertion_jtis (client_id, jti, expire_time) VALUES (?, ?, ?)
       ON CONFLICT (client_id, jti) DO UPDATE SET expire_time = excluded.expire_time WHERE assertion_jtis.expire_time < ?`,
    ),
    pruneJtis: db.prepare<[before: number]>("DELETE FROM assertion_jtis WHERE expire_time < ?"),
    syncNormal: db.prepare("PRAGMA synchronous = NORMAL"),
    syncFull: db.prepare("PRAGMA synchronous = FULL"),
  };
}

/** The store's prepared statements, by name. */
type Statements = ReturnType<typeof prepareStatements>;

/** The Storage port on one SQLite file (WAL mode, so several processes can share it). */
export class SqliteStorage implements Storage {
  readonly #db: Database.Database;
  readonly #q: Statements;

  private constructor(db: Database.Database) {
    this.#db = db;
    this.#q = prepareStatements(db);
  }

  /**
   * Opens (creating file and folder if needed, readable by their owner only) and migrates the
   * database at `path`.
   */
  static open(path: string, options: SqliteStorageOptions = {}): SqliteStorage {
    let db: Database.Database | undefined;
    try {
      if (path !== ":memory:" && !options.readonly) createPrivateFile(path);
      db = new Database(path, { readonly: options.readonly ?? false });
      const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      if (!options.readonly) {
        // Deleted and overwritten rows (an old private key, a deleted client's secret hash)
        // are zeroed in the file rather than left in free space.
        db.pragma("secure_delete = ON");
        switchToWal(db, busyTimeoutMs);
        // FULL: an acknowledged admin write survives power loss too; writes are rare.
        db.pragma("synchronous = FULL");
      }
      db.pragma("foreign_keys = ON");
      // Reads on the request path (a client among 100,000, the deny-list) stay in memory:
      // a 32 MiB page cache and memory-mapped reads instead of a read() per page.
      db.pragma("cache_size = -32768");
      db.pragma("mmap_size = 268435456");
      if (!options.readonly) migrate(db);
      return new SqliteStorage(db);
    } catch (err) {
      db?.close();
      if (err instanceof SchemaTooNewError) throw err;
      const code = (err as { code?: unknown }).code;
      // One sentence naming the file, whatever failed: full disk, permissions, not a database.
      throw new StorageUnavailableError(
        `cannot open the database ${path} (${typeof code === "string" ? `${code}: ` : ""}${(err as Error).message})`,
        {
          cause: err,
        },
      );
    }
  }

  /**
   * Runs a write; failures of the medium (disk full, I/O error, read-only file, lock held past
   * the busy timeout) become StorageUnavailableError, so callers can answer "retry later".
   */
  #write<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code === "string" && /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|BUSY|LOCKED|NOMEM)/.test(code)) {
        throw new StorageUnavailableError(`the database cannot be written (${code})`, { cause: err });
      }
      throw err;
    }
  }

  async getClient(clientId: string): Promise<ClientRecord | undefined> {
    return this.#readClient(clientId);
  }

  #readClient(clientId: string): ClientRecord | undefined {
    const row = this.#q.client.get(clientId);
    return row && this.#toClient(row);
  }

  #toClient(row: ClientRow): ClientRecord {
    const secrets = this.#q.secrets.all(row.client_id).map(
      (s): SecretRecord => ({
        secretId: s.secret_id,
        hash: s.hash,
        createTime: s.create_time,
        expireTime: s.expire_time,
        lastUsedTime: s.last_used_time,
      }),
    );
    return {
      clientId: row.client_id,
      name: row.name,
      scopes: JSON.parse(row.scopes) as string[],
      audiences: JSON.parse(row.audiences) as string[],
      tokenTtlSeconds: row.token_ttl_seconds,
      disabled: row.disabled !== 0,
      createTime: row.create_time,
      updateTime: row.update_time,
      tokensNotBefore: row.tokens_not_before,
      scopeCutoffs: row.scope_cutoffs === "[]" ? NO_SCOPE_CUTOFFS : parseScopeCutoffs(row.scope_cutoffs),
      secrets,
      authMethod: row.auth_method,
      keys: JSON.parse(row.client_keys) as ClientRecord["keys"],
      jwksUri: row.jwks_uri,
      federatedCredentials: JSON.parse(row.federated_credentials) as ClientRecord["federatedCredentials"],
    };
  }

  async createClient(c: ClientRecord, audit?: AuditEvent): Promise<ClientRecord> {
    return this.#write(() => {
      try {
        return this.#db
          .transaction(() => {
            const stone = this.#q.tombstone.get(c.clientId);
            const notBefore = stone ? Math.max(c.tokensNotBefore ?? 0, stone.tokens_not_before) : c.tokensNotBefore;
            this.#insertClientWithSecrets(c, notBefore);
            if (stone) this.#q.dropTombstone.run(c.clientId);
            this.#audit(audit);
            return this.#insertedClient(c.clientId);
          })
          .immediate();
      } catch (err) {
        if ((err as { code?: string }).code === "SQLITE_CONSTRAINT_PRIMARYKEY") {
          throw new ClientExistsError(`client ${JSON.stringify(c.clientId)} already exists`);
        }
        throw err;
      }
    });
  }

  /** The client just inserted in this transaction; not finding it would mean a broken database. */
  #insertedClient(clientId: string): ClientRecord {
    const c = this.#readClient(clientId);
    if (!c) throw new Error(`the client ${JSON.stringify(clientId)} just inserted cannot be read back`);
    return c;
  }

  /** One client row with its secrets, the cut-off given (a re-created id keeps its tombstone's). */
  #insertClientWithSecrets(c: ClientRecord, tokensNotBefore: number | null): void {
    this.#q.insertClient.run(
      c.clientId,
      c.name,
      JSON.stringify(c.scopes),
      JSON.stringify(c.audiences),
      c.tokenTtlSeconds,
      c.disabled ? 1 : 0,
      c.createTime,
      c.updateTime,
      tokensNotBefore,
      scopeCutoffsJson(c.scopeCutoffs),
      c.authMethod,
      c.jwksUri,
      JSON.stringify(c.keys),
      JSON.stringify(c.federatedCredentials),
    );
    for (const s of c.secrets) this.#insertSecret(c.clientId, s);
  }

  #insertSecret(clientId: string, s: SecretRecord): void {
    this.#q.insertSecret.run(s.secretId, clientId, Buffer.from(s.hash), s.createTime, s.expireTime, s.lastUsedTime);
  }

  async updateClient(clientId: string, patch: ClientPatch, now: number, audit?: AuditEvent): Promise<ClientRecord | undefined> {
    return this.#write(() => {
      return this.#db
        .transaction(() => {
          const cur = this.#readClient(clientId);
          if (!cur) return undefined;
          const next = applyClientPatch(cur, patch, now);
          this.#q.updateClient.run(
            next.name,
            JSON.stringify(next.scopes),
            JSON.stringify(next.audiences),
            next.tokenTtlSeconds,
            next.disabled ? 1 : 0,
            next.tokensNotBefore,
            scopeCutoffsJson(next.scopeCutoffs),
            now,
            next.authMethod,
            next.jwksUri,
            JSON.stringify(next.keys),
            JSON.stringify(next.federatedCredentials),
            clientId,
          );
          if (next.secrets.length === 0 && cur.secrets.length > 0) this.#q.dropSecrets.run(clientId);
          this.#audit(audit);
          return this.#readClient(clientId);
        })
        .immediate();
    });
  }

  async deleteClient(clientId: string, audit?: AuditEvent, tombstone?: ClientTombstone): Promise<boolean> {
    return this.#write(() =>
      this.#db
        .transaction(() => {
          const gone = this.#q.deleteClient.run(clientId).changes > 0;
          if (gone) {
            if (tombstone) this.#q.putTombstone.run(clientId, tombstone.tokensNotBefore, tombstone.expireTime);
            this.#audit(audit);
          }
          return gone;
        })
        .immediate(),
    );
  }

  #audit(e: AuditEvent | undefined): void {
    if (e) this.#q.insertAudit.run(e.time, e.actor, e.action, e.target, JSON.stringify(e.changes), e.origin);
  }

  async listAuditEvents(beforeId: number | undefined, limit: number, target?: string): Promise<AuditEvent[]> {
    const before = beforeId ?? Number.MAX_SAFE_INTEGER;
    const rows = target === undefined ? this.#q.audit.all(before, limit) : this.#q.auditFor.all(target, before, limit);
    return rows.map(auditEventOf);
  }

  async counts(): Promise<{ clients: number; revokedTokens: number }> {
    const n = (q: Statement<[], { n: number }>) => q.get()?.n ?? 0;
    return { clients: n(this.#q.countClients), revokedTokens: n(this.#q.countRevoked) };
  }

  async listClients(afterId: string, limit: number): Promise<ClientRecord[]> {
    return this.#db.transaction(() => this.#q.list.all(afterId, limit).map((r) => this.#toClient(r))).deferred();
  }

  async rotateSecret(
    clientId: string,
    secret: SecretRecord,
    othersExpireAt: number,
    now: number,
    audit?: AuditEvent,
  ): Promise<ClientRecord | undefined> {
    return this.#write(() => {
      return this.#db
        .transaction(() => {
          if (!this.#q.client.get(clientId)) return undefined;
          this.#q.capSecrets.run(othersExpireAt, clientId, othersExpireAt);
          this.#q.pruneSecrets.run(clientId, now);
          this.#insertSecret(clientId, secret);
          this.#q.touchClient.run(now, clientId);
          this.#audit(audit);
          return this.#readClient(clientId);
        })
        .immediate();
    });
  }

  async recordSecretUse(uses: ReadonlyMap<string, number>): Promise<void> {
    return this.#write(() => {
      if (uses.size === 0) return;
      this.#db
        .transaction(() => {
          for (const [secretId, time] of uses) this.#q.useSecret.run(time, secretId, time);
        })
        .immediate();
    });
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    return this.#q.keys.all().map(toKey);
  }

  async updateSigningKeys<T>(
    decide: (keys: SigningKeyRecord[]) => SigningKeyPlan<T>,
    audit?: (result: T) => AuditEvent | undefined,
  ): Promise<T> {
    return this.#write(() => {
      return this.#db
        .transaction(() => {
          const plan = decide(this.#q.keys.all().map(toKey));
          // Delete every key the plan touches, then insert the new versions: the one-current and
          // one-next indexes are checked per statement, and any valid end state (even a swap)
          // is reachable this way.
          for (const kid of plan.remove) this.#q.deleteKey.run(kid);
          for (const k of plan.upsert) this.#q.deleteKey.run(k.kid);
          for (const k of plan.upsert) {
            this.#q.upsertKey.run(k.kid, k.alg, k.privateKey, k.publicJwk, k.status, k.createTime, k.activateTime, k.retireTime);
          }
          this.#audit(audit?.(plan.result));
          return plan.result;
        })
        .immediate();
    });
  }

  async revokeToken(jti: string, clientId: string, expireTime: number): Promise<void> {
    return this.#write(() => {
      this.#q.revoke.run(jti, clientId, expireTime);
    });
  }

  async isTokenRevoked(jti: string): Promise<boolean> {
    return this.#q.isRevoked.get(jti) !== undefined;
  }

  async pruneRevokedTokens(before: number): Promise<number> {
    return this.#write(() => {
      this.#q.pruneTombstones.run(before);
      return this.#q.pruneRevoked.run(before).changes;
    });
  }

  async getMeta(key: string): Promise<string | undefined> {
    return this.#q.getMeta.get(key)?.value;
  }

  async setMeta(key: string, value: string, overwrite: boolean): Promise<boolean> {
    return this.#write(() => {
      return (overwrite ? this.#q.upsertMeta : this.#q.insertMeta).run(key, value).changes > 0;
    });
  }

  async purgeDeletedData(): Promise<void> {
    this.#write(() => {
      // VACUUM rebuilds every page from the live rows only, so nothing deleted or overwritten
      // before secure_delete was on survives in the main file; TRUNCATE then copies the log into
      // the main file and cuts the -wal file to zero bytes, old page versions included.
      this.#db.exec("VACUUM");
      const [r] = this.#db.pragma("wal_checkpoint(TRUNCATE)") as { busy: number }[];
      if (r?.busy !== 0) {
        throw new StorageUnavailableError(
          "another process kept the write-ahead log in use, so it could not be emptied; stop other processes that open the database and try again",
        );
      }
    });
  }

  async changeToken(): Promise<number> {
    return this.#db.pragma("data_version", { simple: true }) as number;
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  async recordAssertionJti(clientId: string, jti: string, expireTime: number, now: number): Promise<boolean> {
    // One statement, so SQLite's write lock makes it atomic across processes on the file. Its
    // commit does not wait for the disk (synchronous NORMAL, WAL): this is one write per
    // private_key_jwt token, and better-sqlite3 would hold the event loop, every other request
    // included, for an fsync each time. The next FULL commit or checkpoint makes it durable; a
    // power cut before that (not a process crash) can forget a jti, whose assertion could then
    // be replayed until it expires (minutes).
    return this.#write(() => {
      this.#q.syncNormal.run();
      try {
        return this.#q.recordJti.run(clientId, jti, expireTime, now).changes > 0;
      } finally {
        this.#q.syncFull.run();
      }
    });
  }

  async pruneAssertionJtis(before: number): Promise<number> {
    return this.#write(() => this.#q.pruneJtis.run(before).changes);
  }

  async recordAuditEvents(events: readonly AuditEvent[]): Promise<void> {
    if (events.length === 0) return;
    this.#write(() => {
      this.#db
        .transaction(() => {
          for (const e of events) this.#audit(e);
        })
        .immediate();
    });
  }

  subscribeChanges(): () => void {
    // SQLite tells nobody of a commit: other processes' changes are seen by polling changeToken().
    return () => {};
  }

  async *exportRecords(): AsyncIterable<StoreRecord[]> {
    const q = prepareExportStatements(this.#db);
    // One read transaction across every batch: a consistent snapshot (in WAL mode it blocks no writer).
    this.#db.exec("BEGIN");
    try {
      yield* exportBatches({
        meta: () => q.meta.all(),
        keys: () => q.keys.all().map(toKey),
        clients: (after) => this.#q.list.all(after, EXPORT_BATCH).map((r) => this.#toClient(r)),
        tombstones: (after) => q.tombstones.all(after, EXPORT_BATCH),
        revoked: (after) => q.revoked.all(after, EXPORT_BATCH),
        auditEvents: (after) => q.audit.all(after, EXPORT_BATCH).map(auditEventOf),
      });
    } finally {
      if (this.#db.inTransaction) this.#db.exec("COMMIT");
    }
  }

  async importRecords(batches: AsyncIterable<readonly StoreRecord[]>, options: { replace: boolean }): Promise<void> {
    const q = prepareExportStatements(this.#db);
    // One write transaction across every batch, so the import is all or nothing.
    this.#write(() => this.#db.exec("BEGIN IMMEDIATE"));
    try {
      const found = q.counts.get();
      const held = Object.entries(found ?? {}).filter(([, n]) => n > 0);
      if (held.length > 0 && !options.replace) throw new StoreNotEmptyError(Object.fromEntries(held));
      if (options.replace) this.#db.exec(DELETE_EVERYTHING);
      for await (const batch of batches)
        this.#write(() =>
          batch.forEach((r) => {
            this.#importOne(r, q.insertAudit);
          }),
        );
      this.#write(() => this.#db.exec("COMMIT"));
    } finally {
      if (this.#db.inTransaction) this.#db.exec("ROLLBACK");
    }
  }

  #importOne(r: StoreRecord, insertAudit: ReturnType<typeof prepareExportStatements>["insertAudit"]): void {
    switch (r.kind) {
      case "meta":
        return void this.#q.upsertMeta.run(r.key, r.value);
      case "signing_key": {
        const k = r.key;
        return void this.#q.upsertKey.run(k.kid, k.alg, k.privateKey, k.publicJwk, k.status, k.createTime, k.activateTime, k.retireTime);
      }
      case "client": {
        const c = r.client;
        this.#insertClientWithSecrets(c, c.tokensNotBefore);
        return;
      }
      case "client_tombstone":
        return void this.#q.putTombstone.run(r.clientId, r.tombstone.tokensNotBefore, r.tombstone.expireTime);
      case "revoked_token":
        return void this.#q.revoke.run(r.jti, r.clientId, r.expireTime);
      case "audit_event": {
        const e = r.event;
        return void insertAudit.run(e.eventId, e.time, e.actor, e.action, e.target, JSON.stringify(e.changes), e.origin);
      }
    }
  }
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

/** An audit row as the port's event (its changes stored as JSON). */
function auditEventOf(r: AuditRow): AuditEvent & { eventId: number } {
  return {
    eventId: r.event_id,
    time: r.time,
    actor: r.actor,
    action: r.action,
    target: r.target,
    changes: JSON.parse(r.changes) as Record<string, unknown>,
    origin: r.origin,
  };
}

/** Scope cut-offs as stored: a JSON array of [scope, not-before ms] pairs. */
function scopeCutoffsJson(cutoffs: readonly ScopeCutoff[]): string {
  return cutoffs.length === 0 ? "[]" : JSON.stringify(cutoffs.map((c) => [c.scope, c.notBefore]));
}

function parseScopeCutoffs(json: string): readonly ScopeCutoff[] {
  return (JSON.parse(json) as [string, number][]).map(([scope, notBefore]) => ({ scope, notBefore }));
}
