import type pg from "pg";
import { isUnavailable } from "./errors.js";
import type { Database } from "./pool.js";
import { CHANGE_CHANNEL } from "./transaction.js";

const READ_COUNTER = "SELECT value FROM change_counter";

/**
 * The one connection per process that watches for other processes' changes, outside the pool:
 * it reads the change counter and runs the other background polls (so polling never waits
 * behind requests for a pooled connection, and never takes one from them) and, unless told
 * not to, LISTENs for the NOTIFY
 * every committed change sends. Opened on first use; when it breaks (server restart, network)
 * the next read opens another, and LISTENs again. Notifications lost meanwhile are no loss:
 * watchers compare the counter they read, never count notifications.
 */
export class ChangeConnection {
  readonly #listeners = new Set<() => void>();
  #client: pg.Client | undefined;
  #connecting: Promise<pg.Client> | undefined;
  readonly #dropped = new WeakSet<pg.Client>();
  #closed = false;

  constructor(
    private readonly db: Database,
    private readonly notify: boolean,
  ) {}

  /** The change counter as committed now. Throws StorageUnavailableError when the database cannot be reached. */
  async counter(): Promise<number> {
    const row = (await this.query<{ value: number }>(READ_COUNTER))[0];
    if (row === undefined) throw new Error("the change counter: the database returned no row");
    return row.value;
  }

  /**
   * Runs a read of the background work (polls) here rather than on the pool, so that polling
   * never competes with requests for a connection.
   */
  async query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]> {
    const client = await this.#open();
    try {
      return (await client.query<R>(text, values)).rows;
    } catch (err) {
      // A statement the server refused leaves the session usable; anything else ends it.
      if ((err as { code?: string }).code === undefined || isUnavailable(err)) this.#drop(client);
      throw this.db.error(err);
    }
  }

  /** Calls `listener` on every change notification (none when notifications are off); returns how to stop. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Ends the connection; later reads fail. */
  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client ?? (await this.#connecting?.catch(() => undefined));
    if (client) this.#drop(client);
  }

  #open(): Promise<pg.Client> {
    if (this.#closed) return Promise.reject(new Error("the change connection is closed"));
    if (this.#client) return Promise.resolve(this.#client);
    this.#connecting ??= this.#connect().finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  async #connect(): Promise<pg.Client> {
    const client = await this.db.standalone("changes");
    client.on("error", () => this.#drop(client));
    client.on("end", () => this.#drop(client));
    client.on("notification", (n) => {
      if (n.channel !== CHANGE_CHANNEL) return;
      for (const l of this.#listeners) l();
    });
    try {
      if (this.notify) await client.query(`LISTEN ${CHANGE_CHANNEL}`);
    } catch (err) {
      this.#drop(client);
      throw this.db.error(err);
    }
    if (this.#closed) {
      this.#drop(client);
      throw new Error("the change connection is closed");
    }
    this.#client = client;
    return client;
  }

  /** Forgets a broken (or finished) connection, so the next read opens another, and closes it. */
  #drop(client: pg.Client): void {
    if (this.#client === client) this.#client = undefined;
    if (this.#dropped.has(client)) return;
    this.#dropped.add(client);
    client.end().catch(() => {});
  }
}
