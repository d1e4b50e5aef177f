import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { switchToWal, WAL_RETRY_PAUSE_MS } from "../../../src/storage/sqlite/wal-mode.js";

// Two connections to one new file, as two `tessera serve` workers starting at once. The first
// holds the write lock while it marks the file WAL (BEGIN IMMEDIATE holds the same lock); the
// second, asking to switch meanwhile, gets SQLITE_BUSY from SQLite at once, whatever its busy timeout.

describe("switchToWal", () => {
  let dir: string;
  let path: string;
  const open: Database.Database[] = [];
  const connect = () => {
    const db = new Database(path);
    db.pragma("busy_timeout = 5000");
    open.push(db);
    return db;
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "tessera-wal-"));
    path = join(dir, "tessera.db");
  });
  afterEach(() => {
    for (const db of open.splice(0)) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("asks again while another connection holds the switch up, and the file ends in WAL mode", () => {
    const first = connect();
    first.exec("BEGIN IMMEDIATE");
    const second = connect();
    const pauses: number[] = [];
    switchToWal(second, 5000, (ms) => {
      pauses.push(ms);
      // The first connection finishes its switch while the second waits.
      if (pauses.length === 2) {
        first.exec("COMMIT");
        first.pragma("journal_mode = WAL");
      }
    });
    expect(pauses).toEqual([WAL_RETRY_PAUSE_MS, WAL_RETRY_PAUSE_MS]);
    expect(second.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(connect().pragma("journal_mode", { simple: true })).toBe("wal");
  });

  it("gives up with SQLITE_BUSY once the busy timeout has passed", () => {
    const first = connect();
    first.exec("BEGIN IMMEDIATE");
    let pauses = 0;
    expect(() => switchToWal(connect(), 3 * WAL_RETRY_PAUSE_MS, () => void pauses++)).toThrow(
      expect.objectContaining({ code: "SQLITE_BUSY" }),
    );
    expect(pauses).toBe(3);
  });

  it("leaves a file already in WAL mode as it is, without pausing", () => {
    connect().pragma("journal_mode = WAL");
    let pauses = 0;
    const db = connect();
    switchToWal(db, 5000, () => void pauses++);
    expect([db.pragma("journal_mode", { simple: true }), pauses]).toEqual(["wal", 0]);
  });
});
