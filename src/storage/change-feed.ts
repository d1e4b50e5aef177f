import { type Storage, StorageUnavailableError } from "../core/ports/storage.js";

/** How often the feed reads the change token when nothing tells it sooner. */
export const CHANGE_POLL_MS = 250;

/** What the feed watches: the store's change token, and its change notifications when it has any. */
export type ChangeSource = Pick<Storage, "changeToken" | "subscribeChanges">;

/** How a ChangeFeed polls and whom it tells. */
export interface ChangeFeedOptions {
  /** Between polls, ms; notifications trigger a poll at once. */
  pollMs: number;
  /** How long records read before the last confirmed poll may still be served, ms. */
  outageGraceMs: number;
  /** A monotonic clock in ms (performance.now): staleness must not jump with the wall clock. */
  now: () => number;
  /** Each poll that could not read the token. */
  onUnavailable?: (err: unknown) => void;
  /** The first poll that could read it again after failures. */
  onAvailable?: () => void;
  /** Whether cached records may be served changed: true once the grace has run out, false when a poll succeeds again. */
  onStale?: (stale: boolean) => void;
}

/**
 * Watches the database for changes committed by other processes (replicas, `tessera`
 * commands): it polls the store's change token every `pollMs` in the background, and at once
 * when the store notifies it. What it learns, the request path reads synchronously: a
 * `generation` that moves on every change (caches compare it and empty themselves), and
 * `assertFresh()`, which refuses once no poll has succeeded for longer than the outage grace.
 * So a cache never waits for the database on a request, sees every change within one poll
 * (plus the poll's own round trip), and never serves records older than the grace.
 */
export class ChangeFeed {
  #token: number;
  #generation = 0;
  #confirmedAt: number;
  #failing = false;
  #stale = false;
  #checking: Promise<void> | undefined;
  #again = false;
  readonly #listeners = new Set<() => void>();
  readonly #timer: NodeJS.Timeout;
  readonly #unsubscribe: () => void;

  private constructor(
    private readonly source: ChangeSource,
    private readonly options: ChangeFeedOptions,
    token: number,
    startedAt: number,
  ) {
    this.#token = token;
    this.#confirmedAt = startedAt;
    this.#unsubscribe = source.subscribeChanges(() => void this.check());
    // Background work: the timer never keeps the process alive.
    this.#timer = setInterval(() => void this.check(), options.pollMs).unref();
  }

  /** Reads the token once (so a database that cannot be read fails the start) and starts polling. */
  static async start(source: ChangeSource, options: ChangeFeedOptions): Promise<ChangeFeed> {
    const startedAt = options.now();
    return new ChangeFeed(source, options, await source.changeToken(), startedAt);
  }

  /** Moves whenever a poll saw another process's change; read on the request path, so synchronous and free. */
  get generation(): number {
    return this.#generation;
  }

  /** How long ago the last successful poll started, ms: records read before it may be this old. */
  staleFor(): number {
    return this.options.now() - this.#confirmedAt;
  }

  /** Throws StorageUnavailableError once no poll has succeeded for longer than the outage grace. */
  assertFresh(): void {
    if (this.options.now() - this.#confirmedAt <= this.options.outageGraceMs) return;
    throw new StorageUnavailableError(
      `the database has not been reachable for ${Math.round(this.staleFor() / 1000)}s, longer than clients in memory may be served (--db-outage-grace)`,
    );
  }

  /** Calls `listener` after each poll that saw a change (after `generation` moved). */
  onChange(listener: () => void): void {
    this.#listeners.add(listener);
  }

  /**
   * Polls now (the timer and notifications call this too). Never throws: a failure is reported
   * to onUnavailable. Polls never overlap; one asked for during another runs right after it,
   * so a notification that arrives mid-poll is not lost.
   */
  check(): Promise<void> {
    if (this.#checking) {
      this.#again = true;
      return this.#checking;
    }
    this.#checking = this.#poll().finally(() => {
      this.#checking = undefined;
      if (this.#again) {
        this.#again = false;
        void this.check();
      }
    });
    return this.#checking;
  }

  /** Stops polling and listening. */
  stop(): void {
    clearInterval(this.#timer);
    this.#unsubscribe();
  }

  async #poll(): Promise<void> {
    const startedAt = this.options.now();
    let token: number;
    try {
      token = await this.source.changeToken();
    } catch (err) {
      this.#failing = true;
      this.options.onUnavailable?.(err);
      this.#setStale(this.staleFor() > this.options.outageGraceMs);
      return;
    }
    if (this.#failing) {
      this.#failing = false;
      this.options.onAvailable?.();
    }
    if (token !== this.#token) {
      this.#token = token;
      this.#generation++;
      for (const l of this.#listeners) l();
    }
    // What was read from the database before this poll started is now known to be current.
    this.#confirmedAt = startedAt;
    this.#setStale(false);
  }

  #setStale(stale: boolean): void {
    if (stale === this.#stale) return;
    this.#stale = stale;
    this.options.onStale?.(stale);
  }
}

/** For stores nothing else writes to (tests, one process alone): never changes, never stale. */
export const NEVER_CHANGES = { generation: 0, assertFresh(): void {} } as const;
