import { setImmediate as macrotask } from "node:timers/promises";
import type { Scheduler, TimerOptions } from "../../src/client/scheduler.js";

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

/** A Scheduler whose time moves only when a test says so; records every wait it was asked for. */
export class FakeScheduler implements Scheduler {
  #now: number;
  #next = 1;
  #timers: Timer[] = [];
  /** Every setTimeout delay requested, in order. */
  readonly delays: number[] = [];
  /** Every setTimeout requested, in order, with whether it was a background timer. */
  readonly requested: Array<{ ms: number; background: boolean }> = [];

  constructor(start = Date.UTC(2030, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number, options?: TimerOptions): number {
    const id = this.#next++;
    this.delays.push(ms);
    this.requested.push({ ms, background: options?.background === true });
    this.#timers.push({ id, at: this.#now + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  }

  /** How many timers are waiting. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Moves time forward by `ms`, firing due timers in order and letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    await settle();
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = due.at;
      due.fn();
      await settle();
    }
    this.#now = end;
    await settle();
  }
}

/** Lets every pending promise chain run (a few macrotask turns). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await macrotask();
}
