import type { Storage } from "../core/ports/storage.js";

/**
 * Tracks whether the database accepts writes. After a write fails for want of space (or a
 * lock), `onChange(false)` is called and a small probe write is retried until it succeeds;
 * then `onChange(true)`. Token issuance needs no writes and is unaffected throughout.
 */
export class WriteHealth {
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly storage: Pick<Storage, "setMeta">,
    private readonly onChange: (writable: boolean) => void,
    private readonly probeMs = 2000,
  ) {}

  /** Called when a write failed because the store is unavailable. */
  failed(): void {
    if (this.#timer) return;
    this.onChange(false);
    this.#timer = setInterval(() => void this.#probe(), this.probeMs);
    this.#timer.unref();
  }

  async #probe(): Promise<void> {
    try {
      await this.storage.setMeta("write_probe", new Date().toISOString(), true);
    } catch {
      return;
    }
    this.stop();
    this.onChange(true);
  }

  /** Stops probing. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
