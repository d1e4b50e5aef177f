import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { Statement } from "better-sqlite3";
import {
  ClientExistsError,
  type ClientPatch,
  type ClientRecord,
  type SecretRecord,
  type SigningKeyRecord,
  type Storage,
} from "../storage.js";
import { migrate } from "./migrations.js";

interface ClientRow {
  client_id: string;
  name: string;
  scopes: string;
  audiences: string;
  token_ttl_seconds: number;
  disabled: number;
  create_time: number;
  update_time: number;
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
  private_jwk: string;
  public_jwk: string;
  status: "current" | "retired";
  create_time: number;
  retire_time: number | null;
}

/** Options for opening a SQLite store. */
export interface SqliteStorageOptions {
  /** How long a writer waits for another process's lock before failing. */
  busyTimeoutMs?: number;
  readonly?: boolean;
}

/** The Storage port on one SQLite file (WAL mode, so several processes can share it). */
export class SqliteStorage implements Storage {
  readonly #db: Database.Database;
  readonly #q: Record<string, Statement>;

  private constructor(db: Database.Database) {
    this.#db = db;
    const p = (sql: string) => db.prepare(sql);
    this.#q = {
      client: p("SELECT * FROM clients WHERE client_id = ?"),
      secrets: p(
        "SELECT secret_id, hash, create_time, expire_time, last_used_time FROM client_secrets WHERE client_id = ? ORDER BY create_time DESC, secret_id",
      ),
      insertClient: p(
        "INSERT INTO clients (client_id, name, scopes, audiences, token_ttl_seconds, disabled, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      insertSecret: p(
        "INSERT INTO client_secrets (secret_id, client_id, hash, create_time, expire_time, last_used_time) VALUES (?, ?, ?, ?, ?, ?)",
      ),
      updateClient: p(
        "UPDATE clients SET name = ?, scopes = ?, audiences = ?, token_ttl_seconds = ?, disabled = ?, update_time = ? WHERE client_id = ?",
      ),
      deleteClient: p("DELETE FROM clients WHERE client_id = ?"),
      list: p("SELECT * FROM clients WHERE client_id > ? ORDER BY client_id LIMIT ?"),
      pruneSecrets: p("DELETE FROM client_secrets WHERE client_id = ? AND expire_time IS NOT NULL AND expire_time <= ?"),
      capSecrets: p(
        "UPDATE client_secrets SET expire_time = ? WHERE client_id = ? AND (expire_time IS NULL OR expire_time > ?)",
      ),
      touchClient: p("UPDATE clients SET update_time = ? WHERE client_id = ?"),
      useSecret: p(
        "UPDATE client_secrets SET last_used_time = ? WHERE secret_id = ? AND (last_used_time IS NULL OR last_used_time < ?)",
      ),
      keys: p("SELECT * FROM signing_keys ORDER BY create_time DESC, kid"),
      currentKey: p("SELECT * FROM signing_keys WHERE status = 'current'"),
      retireKey: p("UPDATE signing_keys SET status = 'retired', retire_time = ? WHERE kid = ?"),
      insertKey: p(
        "INSERT INTO signing_keys (kid, alg, private_jwk, public_jwk, status, create_time, retire_time) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ),
      getMeta: p("SELECT value FROM meta WHERE key = ?"),
      insertMeta: p("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING"),
      upsertMeta: p("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
    };
  }

  /** Opens (creating file and folder if needed) and migrates the database at `path`. */
  static open(path: string, options: SqliteStorageOptions = {}): SqliteStorage {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path, { readonly: options.readonly ?? false });
    try {
      db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
      if (!options.readonly) {
        db.pragma("journal_mode = WAL");
        // FULL: an acknowledged admin write survives power loss too; writes are rare.
        db.pragma("synchronous = FULL");
      }
      db.pragma("foreign_keys = ON");
      if (!options.readonly) migrate(db);
      return new SqliteStorage(db);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  async getClient(clientId: string): Promise<ClientRecord | undefined> {
    return this.#readClient(clientId);
  }

  #readClient(clientId: string): ClientRecord | undefined {
    const row = this.#q.client!.get(clientId) as ClientRow | undefined;
    return row && this.#toClient(row);
  }

  #toClient(row: ClientRow): ClientRecord {
    const secrets = (this.#q.secrets!.all(row.client_id) as SecretRow[]).map(
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
      secrets,
    };
  }

  async createClient(c: ClientRecord): Promise<void> {
    try {
      this.#db
        .transaction(() => {
          this.#q.insertClient!.run(
            c.clientId,
            c.name,
            JSON.stringify(c.scopes),
            JSON.stringify(c.audiences),
            c.tokenTtlSeconds,
            c.disabled ? 1 : 0,
            c.createTime,
            c.updateTime,
          );
          for (const s of c.secrets) this.#insertSecret(c.clientId, s);
        })
        .immediate();
    } catch (err) {
      if ((err as { code?: string }).code === "SQLITE_CONSTRAINT_PRIMARYKEY") {
        throw new ClientExistsError(`client ${JSON.stringify(c.clientId)} already exists`);
      }
      throw err;
    }
  }

  #insertSecret(clientId: string, s: SecretRecord): void {
    this.#q.insertSecret!.run(s.secretId, clientId, Buffer.from(s.hash), s.createTime, s.expireTime, s.lastUsedTime);
  }

  async updateClient(clientId: string, patch: ClientPatch, now: number): Promise<ClientRecord | undefined> {
    return this.#db
      .transaction(() => {
        const cur = this.#readClient(clientId);
        if (!cur) return undefined;
        const next = { ...cur, ...definedOnly(patch), updateTime: now };
        this.#q.updateClient!.run(
          next.name,
          JSON.stringify(next.scopes),
          JSON.stringify(next.audiences),
          next.tokenTtlSeconds,
          next.disabled ? 1 : 0,
          now,
          clientId,
        );
        return this.#readClient(clientId);
      })
      .immediate();
  }

  async deleteClient(clientId: string): Promise<boolean> {
    return this.#q.deleteClient!.run(clientId).changes > 0;
  }

  async listClients(afterId: string, limit: number): Promise<ClientRecord[]> {
    return this.#db
      .transaction(() => (this.#q.list!.all(afterId, limit) as ClientRow[]).map((r) => this.#toClient(r)))
      .deferred();
  }

  async rotateSecret(
    clientId: string,
    secret: SecretRecord,
    othersExpireAt: number,
    now: number,
  ): Promise<ClientRecord | undefined> {
    return this.#db
      .transaction(() => {
        if (!this.#q.client!.get(clientId)) return undefined;
        this.#q.capSecrets!.run(othersExpireAt, clientId, othersExpireAt);
        this.#q.pruneSecrets!.run(clientId, now);
        this.#insertSecret(clientId, secret);
        this.#q.touchClient!.run(now, clientId);
        return this.#readClient(clientId);
      })
      .immediate();
  }

  async recordSecretUse(uses: ReadonlyMap<string, number>): Promise<void> {
    if (uses.size === 0) return;
    this.#db
      .transaction(() => {
        for (const [secretId, time] of uses) this.#q.useSecret!.run(time, secretId, time);
      })
      .immediate();
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    return (this.#q.keys!.all() as KeyRow[]).map(toKey);
  }

  async ensureCurrentKey(
    keep: (current: SigningKeyRecord) => boolean,
    candidate: () => SigningKeyRecord,
    now: number,
  ): Promise<SigningKeyRecord> {
    return this.#db
      .transaction(() => {
        const row = this.#q.currentKey!.get() as KeyRow | undefined;
        if (row && keep(toKey(row))) return toKey(row);
        if (row) this.#q.retireKey!.run(now, row.kid);
        const k = candidate();
        this.#q.insertKey!.run(k.kid, k.alg, k.privateJwk, k.publicJwk, "current", k.createTime, null);
        return { ...k, status: "current" as const, retireTime: null };
      })
      .immediate();
  }

  async getMeta(key: string): Promise<string | undefined> {
    return (this.#q.getMeta!.get(key) as { value: string } | undefined)?.value;
  }

  async setMeta(key: string, value: string, overwrite: boolean): Promise<boolean> {
    return (overwrite ? this.#q.upsertMeta! : this.#q.insertMeta!).run(key, value).changes > 0;
  }

  async changeToken(): Promise<number> {
    return this.#db.pragma("data_version", { simple: true }) as number;
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }
}

function toKey(r: KeyRow): SigningKeyRecord {
  return {
    kid: r.kid,
    alg: r.alg,
    privateJwk: r.private_jwk,
    publicJwk: r.public_jwk,
    status: r.status,
    createTime: r.create_time,
    retireTime: r.retire_time,
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
