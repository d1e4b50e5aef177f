import pg from "pg";
import type { ConnectionSettings } from "./connection.js";
import { describeFailure, isConnectionLost, isUnavailable, storageError } from "./errors.js";

/** How the connection pool behaves; every field has a default (see DEFAULT_POOL_OPTIONS). */
export interface PoolOptions {
  /** Connections per process. Tokens for cached clients use none; reads on a cache miss and admin writes do. */
  poolSize?: number;
  /** How long to wait for a connection (new or from the pool); the URL's connect_timeout wins. */
  connectTimeoutMs?: number;
  /** Server-side limit per statement: a write stuck behind a lock fails as unavailable instead of hanging. */
  statementTimeoutMs?: number;
  /** Told (with a redacted, one-line reason) when an idle connection dies, e.g. the server restarted. */
  onConnectionLost?: (reason: string) => void;
}

/** The defaults of PoolOptions. */
const DEFAULT_POOL_OPTIONS = {
  // Writes are serialised by the change-counter lock and reads are mostly cached, so a few
  // connections per replica serve it; 5 keeps 15+ replicas under PostgreSQL's default 100.
  poolSize: 5,
  connectTimeoutMs: 5_000,
  statementTimeoutMs: 15_000,
} as const;

const INT8_OID = 20;

/** int8 as a JS number: every value Tessera stores (epoch ms, counts, ids) is far below 2^53. */
function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`the 64-bit value ${text} is beyond JavaScript's exact integers`);
  return n;
}

// Per pool, not pg's global type registry: no module-level side effect on other pg users.
const TYPES = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8_OID && format !== "binary" ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/**
 * A connection pool to one database, with libpq's sslmode prefer/allow fallback, errors mapped
 * to StorageUnavailableError naming the redacted URL, and no unhandled 'error' events.
 */
export class Database {
  /** The URL with its password redacted, for messages. */
  readonly where: string;
  readonly #settings: ConnectionSettings;
  readonly #pool: pg.Pool;
  /** Every connection's settings (pool size aside); TLS is added per connection. */
  readonly #clientConfig: pg.ClientConfig;
  /** Whether new connections use TLS; flips once for prefer (server has none) or allow (server demands it). */
  #tls: boolean;

  constructor(settings: ConnectionSettings, options: PoolOptions = {}) {
    this.where = settings.where;
    this.#settings = settings;
    this.#tls = settings.tls !== undefined && settings.sslmode !== "allow";
    const statementTimeoutMs = options.statementTimeoutMs ?? DEFAULT_POOL_OPTIONS.statementTimeoutMs;
    this.#clientConfig = {
      ...settings.config,
      connectionTimeoutMillis: settings.config.connectionTimeoutMillis ?? options.connectTimeoutMs ?? DEFAULT_POOL_OPTIONS.connectTimeoutMs,
      keepAlive: true,
      statement_timeout: statementTimeoutMs,
      // A network that silently drops packets never answers; give up a little after the server would.
      query_timeout: statementTimeoutMs + 5_000,
      // A process that dies mid-transaction must not hold the write lock for long.
      idle_in_transaction_session_timeout: 60_000,
      types: TYPES,
    };
    const config: pg.PoolConfig = {
      ...this.#clientConfig,
      max: options.poolSize ?? DEFAULT_POOL_OPTIONS.poolSize,
      idleTimeoutMillis: 30_000,
      // Idle connections are background work: they must not keep a finished CLI command alive.
      allowExitOnIdle: true,
    };
    this.#pool = new pg.Pool({ ...config, Client: this.#clientClass() as unknown as new () => pg.ClientBase });
    const lost = options.onConnectionLost ?? (() => {});
    // pg-pool emits 'error' when an idle connection dies (server restart, network): without a
    // listener that would crash the process. A checked-out connection emits on itself, so each
    // gets a listener too; its pending or next query fails and is mapped like any other.
    this.#pool.on("error", (err) => lost(this.#reason(err)));
    this.#pool.on("connect", (client) => client.on("error", () => {}));
  }

  /** pg's Client with this database's TLS decision, taken per new connection so the prefer/allow fallback reaches later ones too. */
  #clientClass(): typeof pg.Client {
    const self = this;
    const tls = this.#settings.tls;
    return class FallbackClient extends pg.Client {
      constructor(c: pg.ClientConfig) {
        // pg-pool keeps the password as a non-enumerable property, which a spread would drop.
        super({ ...c, password: c.password, ssl: self.#tls ? tls : false });
        // pg leaves the socket open when authentication fails on our side (no password for a
        // SCRAM server): the server then holds a half-open session for authentication_timeout.
        const internals = this as unknown as { _connected: boolean; connection: NodeJS.EventEmitter & { stream?: { destroy(): void } } };
        internals.connection.on("error", () => {
          if (!internals._connected) internals.connection.stream?.destroy();
        });
      }
    };
  }

  #reason(err: unknown): string {
    const reason = describeFailure(err);
    const secret = this.#settings.password;
    return secret !== undefined && secret.length >= 4 ? reason.replaceAll(secret, "****") : reason;
  }

  /** The error to throw for `err`: StorageUnavailableError (naming the redacted URL) when the database is unavailable. */
  error(err: unknown): unknown {
    return storageError(err, this.where, this.#settings.password);
  }

  /** Checks out a connection; the caller must release it (with the error, if the connection broke). */
  async connect(): Promise<pg.PoolClient> {
    return this.#withTlsFallback(() => this.#pool.connect());
  }

  /**
   * A connection of its own, outside the pool, for work that holds a session (LISTEN): same
   * settings and TLS fallback as the pool's, `application_name` suffixed with `role`. The caller
   * ends it; its 'error' events are the caller's to handle.
   */
  async standalone(role: string): Promise<pg.Client> {
    const name = `${this.#clientConfig.application_name ?? "tessera"} ${role}`;
    const Client = this.#clientClass();
    return this.#withTlsFallback(async () => {
      const client = new Client({ ...this.#clientConfig, password: this.#settings.password, application_name: name });
      client.on("error", () => {}); // until the caller listens: a failed connect also rejects connect()
      try {
        await client.connect();
      } catch (err) {
        await client.end().catch(() => {});
        throw err;
      }
      return client;
    });
  }

  async #withTlsFallback<C>(open: () => Promise<C>): Promise<C> {
    try {
      return await open();
    } catch (err) {
      if (!this.#shouldFlipTls(err)) throw this.error(err);
      this.#tls = !this.#tls;
      try {
        return await open();
      } catch (again) {
        throw this.error(again);
      }
    }
  }

  /** prefer: the server answered that it has no TLS; allow: the server refused a connection without it. */
  #shouldFlipTls(err: unknown): boolean {
    const message = err instanceof Error ? err.message : "";
    if (this.#settings.sslmode === "prefer" && this.#tls) return message === "The server does not support SSL connections";
    if (this.#settings.sslmode === "allow" && !this.#tls) {
      return (err as { code?: string }).code === "28000" && message.includes("no encryption");
    }
    return false;
  }

  /**
   * Runs one statement on its own (autocommit). A statement that fails because its pooled
   * connection had died is run once more on a fresh one: callers use this only for statements
   * that are safe to repeat.
   */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.connect();
      try {
        const result = await client.query<R>(text, values);
        client.release();
        return result;
      } catch (err) {
        client.release(isUnavailable(err) ? (err as Error) : undefined);
        if (!isConnectionLost(err) || attempt > 1) throw this.error(err);
      }
    }
  }

  /** Whether TLS is used for new connections (after any prefer/allow fallback). */
  get usesTls(): boolean {
    return this.#tls;
  }

  /** Closes every connection; waits for checked-out ones to be released. */
  async end(): Promise<void> {
    if (!this.#pool.ended) await this.#pool.end();
  }
}
