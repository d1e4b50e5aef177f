import { randomBytes } from "node:crypto";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Encodes bytes as a base62 string of exactly `length` characters (big-endian, zero-padded). */
export function base62(bytes: Uint8Array, length: number): string {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let out = "";
  while (n > 0n) {
    out = ALPHABET[Number(n % 62n)] + out;
    n /= 62n;
  }
  if (out.length > length) throw new RangeError("value does not fit the requested length");
  return out.padStart(length, "0");
}

/** A new random identifier: `prefix` + base62 of `bytes` random bytes. */
export function randomId(prefix: string, bytes = 12): string {
  const len = Math.ceil((bytes * 8) / Math.log2(62));
  return prefix + base62(randomBytes(bytes), len);
}
