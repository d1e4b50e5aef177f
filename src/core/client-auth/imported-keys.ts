import type { JsonWebKey } from "node:crypto";
import { type CryptoKey, importJWK, type KeyObject } from "jose";

/** A verification key in the form jose verifies with. */
export type VerificationKey = CryptoKey | KeyObject | Uint8Array;

/**
 * Verification keys imported from JWKs, kept by their JSON and algorithm: importing (parsing
 * the key, building the platform's key object) costs more than a verification, and the same
 * few keys sign every assertion. Bounded: emptied when full.
 */
export class ImportedKeys {
  readonly #keys = new Map<string, Promise<VerificationKey>>();

  constructor(private readonly maxEntries = 10_000) {}

  /** `jwk` imported for `alg`; rejects when the key cannot be used with it. */
  get(jwk: JsonWebKey, alg: string): Promise<VerificationKey> {
    const id = `${alg} ${JSON.stringify(jwk)}`;
    let key = this.#keys.get(id);
    if (key === undefined) {
      if (this.#keys.size >= this.maxEntries) this.#keys.clear();
      key = importJWK({ ...jwk, ext: true } as Parameters<typeof importJWK>[0], alg) as Promise<VerificationKey>;
      // A key that failed to import is not kept: the next request tries again.
      key.catch(() => this.#keys.delete(id));
      this.#keys.set(id, key);
    }
    return key;
  }
}
