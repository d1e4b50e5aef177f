/**
 * Reloads the signing keys when another process sharing the database may have changed them:
 * it compares the change feed's generation (read without touching the database) with the one
 * its keys were loaded at. A reload that fails is tried again at the next check.
 */
export class KeyReloader {
  #loaded: number;

  constructor(
    private readonly changes: { readonly generation: number },
    private readonly keys: { reload(): Promise<void> },
  ) {
    this.#loaded = changes.generation;
  }

  /** Reloads the keys if the database changed since they were last loaded; returns whether it did. */
  async check(): Promise<boolean> {
    const generation = this.changes.generation;
    if (generation === this.#loaded) return false;
    await this.keys.reload();
    this.#loaded = generation;
    return true;
  }
}
