import { hash, randomBytes, timingSafeEqual } from "node:crypto";
import { crc32 } from "node:zlib";
import { base62 } from "./ids.js";

/**
 * Client secrets look like `tsec_<43 base62 chars: 256 random bits><6 base62 chars: CRC32>`.
 * The fixed prefix and checksum let secret scanners find a leaked secret with almost no
 * false positives, the way GitHub's token format does.
 */
export const SECRET_PREFIX = "tsec_";
const BODY_LENGTH = 43; // 62^43 > 2^256
const CHECKSUM_LENGTH = 6; // 62^6 > 2^32

/** Generates a new client secret with 256 bits of entropy. */
export function generateClientSecret(): string {
  const body = base62(randomBytes(32), BODY_LENGTH);
  return SECRET_PREFIX + body + checksum(SECRET_PREFIX + body);
}

function checksum(s: string): string {
  const c = crc32(Buffer.from(s, "latin1"));
  return base62(Buffer.from([c >>> 24, (c >>> 16) & 255, (c >>> 8) & 255, c & 255]), CHECKSUM_LENGTH);
}

/** True when `s` has our secret format and its checksum matches (a cheap offline check for scanners). */
export function hasValidSecretChecksum(s: string): boolean {
  if (s.length !== SECRET_PREFIX.length + BODY_LENGTH + CHECKSUM_LENGTH || !s.startsWith(SECRET_PREFIX)) {
    return false;
  }
  const head = s.slice(0, -CHECKSUM_LENGTH);
  return /^[0-9A-Za-z]+$/.test(s.slice(SECRET_PREFIX.length)) && checksum(head) === s.slice(-CHECKSUM_LENGTH);
}

/**
 * Hashes a secret for storage. Plain SHA-256 is enough for 256-bit random secrets (nobody can
 * brute-force the preimage), and a slow password hash would cap issuance at ~100 tokens/s.
 */
export function hashClientSecret(secret: string): Buffer {
  // One-shot crypto.hash (Node >= 20.12) skips the Hash object createHash would build.
  return hash("sha256", secret, "buffer");
}

/** Constant-time comparison of two secret hashes. */
export function secretHashesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
