import type { Storage } from "../core/ports/storage.js";

/**
 * Reloads the signing keys when another process sharing the database changed them: it
 * compares the database's change token with the one seen last, a cheap read.
 */
export class KeyReloader {
  private constructor(
    private readonly database: Pick<Storage, "changeToken">,
    private readonly keys: { reload(): Promise<void> },
    private last: number,
  ) {}

  /** A reloader that counts changes from now on. */
  static async start(database: Pick<Storage, "changeToken">, keys: { reload(): Promise<void> }): Promise<KeyReloader> {
    return new KeyReloader(database, keys, await database.changeToken());
  }

  /** Reloads the keys if the database changed since the last check. */
  async check(): Promise<void> {
    const token = await this.database.changeToken();
    if (token === this.last) return;
    this.last = token;
    await this.keys.reload();
  }
}
