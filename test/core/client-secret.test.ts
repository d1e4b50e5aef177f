import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  generateClientSecret,
  hashClientSecret,
  hasValidSecretChecksum,
  SECRET_PREFIX,
  secretHashesEqual,
} from "../../src/core/client-secret.js";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
// tsec_ + 43 base62 characters of randomness + 6 base62 characters of CRC32.
const SECRET_FORMAT = /^tsec_[0-9A-Za-z]{49}$/;

function replaceAt(s: string, i: number, c: string): string {
  return s.slice(0, i) + c + s.slice(i + 1);
}

describe("generateClientSecret", () => {
  it("has the documented format: prefix tsec_, 54 characters, base62 after the prefix", () => {
    const s = generateClientSecret();
    expect(SECRET_PREFIX).toBe("tsec_");
    expect(s).toMatch(SECRET_FORMAT);
    expect(s).toHaveLength(54);
  });

  it("passes its own checksum", () => {
    for (let i = 0; i < 100; i++) expect(hasValidSecretChecksum(generateClientSecret())).toBe(true);
  });

  it("gives 1000 distinct, well-formed secrets in 1000 calls", () => {
    const secrets = Array.from({ length: 1000 }, generateClientSecret);
    expect(new Set(secrets).size).toBe(1000);
    for (const s of secrets) expect(s).toMatch(SECRET_FORMAT);
    // 256 random bits: even the random part alone never repeats.
    expect(new Set(secrets.map((s) => s.slice(5, 48))).size).toBe(1000);
  });
});

describe("hasValidSecretChecksum", () => {
  const valid = generateClientSecret();

  it("is false for every single-character change to another base62 character, at every position", () => {
    // Exhaustive for one secret: 54 positions x 61 replacements.
    const passed: string[] = [];
    let tried = 0;
    for (let i = 0; i < valid.length; i++) {
      for (const c of BASE62) {
        if (c === valid[i]) continue;
        tried++;
        if (hasValidSecretChecksum(replaceAt(valid, i, c))) passed.push(`position ${i} -> ${c}`);
      }
    }
    expect(tried).toBeGreaterThanOrEqual(valid.length * (BASE62.length - 1));
    expect(passed).toEqual([]);
  });

  it("property: replacing any one character of a valid secret with any other character makes it invalid", () => {
    const secrets = Array.from({ length: 20 }, generateClientSecret);
    fc.assert(
      fc.property(
        fc.constantFrom(...secrets),
        fc.nat({ max: 53 }),
        fc.oneof(fc.constantFrom(...BASE62), fc.string({ unit: "binary", minLength: 1, maxLength: 1 })),
        (secret, i, c) => {
          fc.pre(c !== secret[i]);
          expect(hasValidSecretChecksum(replaceAt(secret, i, c))).toBe(false);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("is false for wrong prefix, wrong length and non-secrets", () => {
    expect(hasValidSecretChecksum("")).toBe(false);
    expect(hasValidSecretChecksum(SECRET_PREFIX)).toBe(false);
    expect(hasValidSecretChecksum(valid.slice(0, -1))).toBe(false);
    expect(hasValidSecretChecksum(`${valid}0`)).toBe(false);
    expect(hasValidSecretChecksum(`TSEC_${valid.slice(5)}`)).toBe(false);
    expect(hasValidSecretChecksum(`xsec_${valid.slice(5)}`)).toBe(false);
    expect(hasValidSecretChecksum(`${valid.slice(5)}tsec_`)).toBe(false);
    expect(hasValidSecretChecksum(` ${valid.slice(1)}`)).toBe(false);
  });

  it("is false when two secrets' random parts and checksums are mixed", () => {
    const other = generateClientSecret();
    expect(hasValidSecretChecksum(valid.slice(0, 48) + other.slice(48))).toBe(false);
  });
});

describe("hashClientSecret", () => {
  it("is the 32-byte SHA-256 of the UTF-8 secret (stored hashes depend on it)", () => {
    const h = hashClientSecret("abc");
    expect(h).toHaveLength(32);
    expect(Buffer.from(h).toString("hex")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const s = generateClientSecret();
    expect(hashClientSecret(s).equals(createHash("sha256").update(Buffer.from(s, "utf8")).digest())).toBe(true);
    expect(
      hashClientSecret("é").equals(
        createHash("sha256")
          .update(Buffer.from([0xc3, 0xa9]))
          .digest(),
      ),
    ).toBe(true);
  });

  it("differs for different secrets", () => {
    const a = generateClientSecret();
    const b = generateClientSecret();
    expect(hashClientSecret(a).equals(hashClientSecret(b))).toBe(false);
  });
});

describe("secretHashesEqual", () => {
  it("is true for equal bytes, false for different bytes or different lengths (without throwing)", () => {
    const a = hashClientSecret("one");
    expect(secretHashesEqual(a, new Uint8Array(a))).toBe(true);
    expect(secretHashesEqual(a, hashClientSecret("two"))).toBe(false);
    expect(secretHashesEqual(a, a.subarray(0, 31))).toBe(false);
    expect(secretHashesEqual(new Uint8Array(0), a)).toBe(false);
  });
});
