import type Database from "better-sqlite3";

/** Blocks the calling thread for the given milliseconds between two tries. */
export type Pause = (ms: number) => void;

/** How long to wait before asking again for a switch that another connection held up. */
export const WAL_RETRY_PAUSE_MS = 10;

/**
 * Blocks the thread for `ms` milliseconds, as SQLite's own busy timeout does inside a
 * better-sqlite3 call (the store is synchronous throughout).
 */
const blockingPause: Pause = (ms) => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

/**
 * Puts the database file in WAL mode, asking again for up to `busyTimeoutMs` while another
 * connection holds the switch up. When several processes open a new file at once (`tessera
 * serve --workers N`), each reads the file's header under a shared lock and then asks for the
 * write lock to mark it WAL; SQLite refuses all but one with SQLITE_BUSY at once, without
 * waiting out the busy timeout, because connections holding read locks while waiting for each
 * other's write lock could wait forever. The one that got the lock finishes within moments,
 * and asking again then finds the file in WAL mode already.
 */
export function switchToWal(db: Database.Database, busyTimeoutMs: number, pause: Pause = blockingPause): void {
  for (let waited = 0; ; waited += WAL_RETRY_PAUSE_MS) {
    try {
      db.pragma("journal_mode = WAL");
      return;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code !== "string" || !code.startsWith("SQLITE_BUSY") || waited >= busyTimeoutMs) throw err;
      pause(WAL_RETRY_PAUSE_MS);
    }
  }
}
