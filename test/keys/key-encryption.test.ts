import { createHash, randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isWrapped, type Kek, KekError, kekFromEnv, parseKek, unwrapKey, wrapKey, wrappedUnder } from "../../src/keys/key-encryption.js";

const RAW = Buffer.from("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "hex");
const PRIVATE_JWK = JSON.stringify({ kty: "EC", crv: "P-256", x: "x-coord", y: "y-coord", d: "the-secret-scalar" });
const KID = "kid-1";

function kekOf(bytes: Buffer): Kek {
  return parseKek(bytes.toString("hex"), "TESSERA_KEK");
}

/** Changes one base64url field of an envelope so that it still parses. */
function tamper(stored: string, field: "ct" | "tag" | "iv"): string {
  const env = JSON.parse(stored) as Record<string, string>;
  const bytes = Buffer.from(env[field]!, "base64url");
  bytes[0] = bytes[0]! ^ 1;
  return JSON.stringify({ ...env, [field]: bytes.toString("base64url") });
}

/** Asserts `f` throws a KekError and returns its message. */
function kekError(f: () => unknown): string {
  let thrown: unknown;
  try {
    f();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(KekError);
  return (thrown as KekError).message;
}

/** One sentence: starts with a capital letter or the variable name and ends with a full stop. */
const SENTENCE = /^[A-Z][^\n]*\.$/;

describe("wrapKey / unwrapKey", () => {
  const kek = kekOf(RAW);

  it("round-trips, marks the envelope with the KEK id, and does not contain the key in clear", () => {
    const stored = wrapKey(PRIVATE_JWK, KID, kek);
    expect(isWrapped(stored)).toBe(true);
    expect(wrappedUnder(stored)).toBe(kek.id);
    expect(JSON.parse(stored)).toEqual({
      enc: "A256GCM",
      kek: kek.id,
      iv: expect.any(String),
      ct: expect.any(String),
      tag: expect.any(String),
    });
    expect(stored).not.toContain("the-secret-scalar");
    expect(unwrapKey(stored, KID, kek)).toBe(PRIVATE_JWK);
  });

  it("uses a fresh IV each time: two wraps of one key differ and both unwrap", () => {
    const a = wrapKey(PRIVATE_JWK, KID, kek);
    const b = wrapKey(PRIVATE_JWK, KID, kek);
    expect(a).not.toBe(b);
    expect(unwrapKey(a, KID, kek)).toBe(PRIVATE_JWK);
    expect(unwrapKey(b, KID, kek)).toBe(PRIVATE_JWK);
  });

  it("a plain JWK is not wrapped and unwraps to itself, with or without a KEK", () => {
    expect(isWrapped(PRIVATE_JWK)).toBe(false);
    expect(wrappedUnder(PRIVATE_JWK)).toBeUndefined();
    expect(unwrapKey(PRIVATE_JWK, KID, undefined)).toBe(PRIVATE_JWK);
    expect(unwrapKey(PRIVATE_JWK, KID, kek)).toBe(PRIVATE_JWK);
  });

  it("the KEK id is the first 8 bytes of SHA-256 of the key, base64url", () => {
    expect(kek.id).toBe(createHash("sha256").update(RAW).digest().subarray(0, 8).toString("base64url"));
    expect(kek.id).toHaveLength(11);
  });

  it("without a KEK: KekError telling the operator which variables to set", () => {
    const stored = wrapKey(PRIVATE_JWK, KID, kek);
    expect(kekError(() => unwrapKey(stored, KID, undefined))).toBe(
      "The signing keys are encrypted at rest: set TESSERA_KEK or TESSERA_KEK_FILE to the key-encryption key.",
    );
  });

  it("with the wrong KEK: KekError naming both KEK ids", () => {
    const stored = wrapKey(PRIVATE_JWK, KID, kek);
    const wrong = kekOf(randomBytes(32));
    const message = kekError(() => unwrapKey(stored, KID, wrong));
    expect(message).toContain(`(id ${wrong.id})`);
    expect(message).toContain(`(id ${kek.id})`);
    expect(message).toMatch(SENTENCE);
  });

  it.each([["ct"], ["tag"], ["iv"]] as const)("a tampered %s: KekError naming the kid", (field) => {
    const stored = tamper(wrapKey(PRIVATE_JWK, KID, kek), field);
    const message = kekError(() => unwrapKey(stored, KID, kek));
    expect(message).toContain(KID);
    expect(message).toMatch(SENTENCE);
  });

  it("the kid is bound as associated data: an envelope moved to another kid does not decrypt", () => {
    const stored = wrapKey(PRIVATE_JWK, KID, kek);
    expect(kekError(() => unwrapKey(stored, "kid-2", kek))).toContain("kid-2");
  });

  it("a wrong KEK that claims the right id (a forged envelope id) still fails authentication", () => {
    const stored = wrapKey(PRIVATE_JWK, KID, kek);
    const impostor: Kek = { key: randomBytes(32), id: kek.id };
    expect(kekError(() => unwrapKey(stored, KID, impostor))).toContain(KID);
  });
});

describe("parseKek", () => {
  it("accepts 64 hex digits, either case, with surrounding whitespace", () => {
    const hex = RAW.toString("hex");
    for (const text of [hex, hex.toUpperCase(), `  ${hex}\n`]) {
      const k = parseKek(text, "TESSERA_KEK");
      expect(k.key.equals(RAW)).toBe(true);
      expect(k.id).toBe(kekOf(RAW).id);
    }
  });

  it("accepts base64 and base64url of 32 bytes, padded or not", () => {
    const bytes = Buffer.from(`fbff${"ab".repeat(30)}`, "hex"); // has + and / in base64
    const b64 = bytes.toString("base64");
    expect(b64).toMatch(/[+/]/);
    for (const text of [b64, b64.replace(/=$/, ""), bytes.toString("base64url"), `${b64}\n`]) {
      expect(parseKek(text, "TESSERA_KEK").key.equals(bytes), text).toBe(true);
    }
  });

  it.each([
    ["empty", ""],
    ["63 hex digits", "a".repeat(63)],
    ["65 hex digits", "a".repeat(65)],
    ["hex with a non-hex digit", `g${"a".repeat(63)}`],
    ["base64 of 16 bytes", randomBytes(16).toString("base64")],
    ["base64 of 31 bytes", randomBytes(31).toString("base64")],
    ["base64 of 33 bytes", randomBytes(33).toString("base64")],
    ["a passphrase", "correct horse battery staple"],
  ])("rejects %s with one sentence naming the source", (_what, text) => {
    const message = kekError(() => parseKek(text, "TESSERA_KEK_FILE"));
    expect(message).toMatch(/^TESSERA_KEK_FILE must hold a 256-bit key as 64 hex digits or base64/);
    expect(message).toMatch(SENTENCE);
    // The rejected value itself is a secret: never echoed.
    if (text.length > 0) expect(message).not.toContain(text);
  });
});

describe("kekFromEnv", () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "tessera-kek-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("neither variable: undefined (keys stored unencrypted)", () => {
    expect(kekFromEnv({})).toBeUndefined();
  });

  it("TESSERA_KEK: the key it holds", () => {
    const k = kekFromEnv({ TESSERA_KEK: RAW.toString("base64") });
    expect(k?.key.equals(RAW)).toBe(true);
    expect(k?.id).toBe(kekOf(RAW).id);
  });

  it("TESSERA_KEK malformed: KekError naming TESSERA_KEK", () => {
    expect(kekError(() => kekFromEnv({ TESSERA_KEK: "short" }))).toMatch(/^TESSERA_KEK must hold/);
  });

  it("TESSERA_KEK_FILE with 32 raw bytes", () => {
    const file = join(dir, "kek.bin");
    writeFileSync(file, RAW);
    expect(kekFromEnv({ TESSERA_KEK_FILE: file })?.key.equals(RAW)).toBe(true);
  });

  it("TESSERA_KEK_FILE with base64 text and a trailing newline (openssl rand -base64 32 > file)", () => {
    const file = join(dir, "kek.txt");
    writeFileSync(file, `${RAW.toString("base64")}\n`);
    expect(kekFromEnv({ TESSERA_KEK_FILE: file })?.key.equals(RAW)).toBe(true);
  });

  it("TESSERA_KEK_FILE with hex text", () => {
    const file = join(dir, "kek.hex");
    writeFileSync(file, `${RAW.toString("hex")}\n`);
    expect(kekFromEnv({ TESSERA_KEK_FILE: file })?.key.equals(RAW)).toBe(true);
  });

  it("TESSERA_KEK_FILE with malformed content: KekError naming TESSERA_KEK_FILE", () => {
    const file = join(dir, "kek.txt");
    writeFileSync(file, "not a key\n");
    expect(kekError(() => kekFromEnv({ TESSERA_KEK_FILE: file }))).toMatch(/^TESSERA_KEK_FILE must hold/);
  });

  it("both set: KekError, even when they hold the same key", () => {
    const file = join(dir, "kek.bin");
    writeFileSync(file, RAW);
    const message = kekError(() => kekFromEnv({ TESSERA_KEK: RAW.toString("hex"), TESSERA_KEK_FILE: file }));
    expect(message).toBe("Set TESSERA_KEK or TESSERA_KEK_FILE, not both.");
  });

  it("a missing file: KekError naming the file and the reason", () => {
    const file = join(dir, "nope.bin");
    const message = kekError(() => kekFromEnv({ TESSERA_KEK_FILE: file }));
    expect(message).toContain(JSON.stringify(file));
    expect(message).toContain("ENOENT");
    expect(message).toMatch(SENTENCE);
  });

  it("a directory instead of a file: KekError", () => {
    expect(kekError(() => kekFromEnv({ TESSERA_KEK_FILE: dir }))).toContain("EISDIR");
  });

  it.skipIf(process.getuid?.() === 0)("an unreadable file: KekError with EACCES", () => {
    const file = join(dir, "kek.bin");
    writeFileSync(file, RAW);
    chmodSync(file, 0o000);
    expect(kekError(() => kekFromEnv({ TESSERA_KEK_FILE: file }))).toContain("EACCES");
  });

  it("another prefix reads other variables", () => {
    expect(kekFromEnv({ TESSERA_KEK: RAW.toString("hex") }, "OTHER_KEK")).toBeUndefined();
    expect(kekFromEnv({ OTHER_KEK: RAW.toString("hex") }, "OTHER_KEK")?.key.equals(RAW)).toBe(true);
  });
});
