import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";

/** A key-encryption key (KEK): 32 bytes for AES-256-GCM, and a short id to recognise it. */
export interface Kek {
  key: Buffer;
  /** First 8 bytes of SHA-256(key), base64url: tells a wrong KEK from a corrupt envelope. */
  id: string;
}

/** A KEK that cannot be used as given; the message is one sentence for the operator. */
export class KekError extends Error {
  override readonly name = "KekError";
}

interface Envelope {
  enc: "A256GCM";
  kek: string;
  iv: string;
  ct: string;
  tag: string;
}

/** Parses a KEK given as 64 hex digits or base64 of 32 bytes; `source` names where it came from. */
export function parseKek(text: string, source: string): Kek {
  const t = text.trim();
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(t)) key = Buffer.from(t, "hex");
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) key = Buffer.from(t.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  if (key?.length !== 32) {
    throw new KekError(`${source} must hold a 256-bit key as 64 hex digits or base64 (for example: openssl rand -base64 32).`);
  }
  return { key, id: createHash("sha256").update(key).digest().subarray(0, 8).toString("base64url") };
}

/** Loads the KEK from TESSERA_KEK or the file named by TESSERA_KEK_FILE (raw 32 bytes, hex or base64). */
export function kekFromEnv(env: NodeJS.ProcessEnv, prefix = "TESSERA_KEK"): Kek | undefined {
  const inline = env[prefix];
  const file = env[`${prefix}_FILE`];
  if (inline && file) throw new KekError(`Set ${prefix} or ${prefix}_FILE, not both.`);
  if (inline) return parseKek(inline, prefix);
  if (!file) return undefined;
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch (err) {
    throw new KekError(
      `${prefix}_FILE names ${JSON.stringify(file)}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? "error"}).`,
    );
  }
  return raw.length === 32 ? parseKek(raw.toString("hex"), `${prefix}_FILE`) : parseKek(raw.toString("utf8"), `${prefix}_FILE`);
}

/** True when a stored private key is an encrypted envelope rather than a plain JWK. */
export function isWrapped(stored: string): boolean {
  return (JSON.parse(stored) as { enc?: unknown }).enc === "A256GCM";
}

/** The id of the KEK a stored key is wrapped under, or undefined when it is plain. */
export function wrappedUnder(stored: string): string | undefined {
  const e = JSON.parse(stored) as Partial<Envelope>;
  return e.enc === "A256GCM" ? e.kek : undefined;
}

/** Encrypts a private JWK (JSON) with AES-256-GCM; the kid is bound as associated data. */
export function wrapKey(privateJwk: string, kid: string, kek: Kek): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", kek.key, iv);
  cipher.setAAD(Buffer.from(kid));
  const ct = Buffer.concat([cipher.update(privateJwk, "utf8"), cipher.final()]);
  const env: Envelope = {
    enc: "A256GCM",
    kek: kek.id,
    iv: iv.toString("base64url"),
    ct: ct.toString("base64url"),
    tag: cipher.getAuthTag().toString("base64url"),
  };
  return JSON.stringify(env);
}

/** Returns the private JWK JSON of a stored key, decrypting it when it is wrapped. */
export function unwrapKey(stored: string, kid: string, kek: Kek | undefined): string {
  const e = JSON.parse(stored) as Partial<Envelope>;
  if (e.enc !== "A256GCM") return stored;
  if (!kek) {
    throw new KekError("The signing keys are encrypted at rest: set TESSERA_KEK or TESSERA_KEK_FILE to the key-encryption key.");
  }
  if (e.kek !== kek.id) {
    throw new KekError(
      `The configured key-encryption key (id ${kek.id}) is not the one the signing keys are encrypted under (id ${String(e.kek)}).`,
    );
  }
  try {
    // A field missing from an altered envelope decodes as empty and fails authentication below.
    const d = createDecipheriv("aes-256-gcm", kek.key, Buffer.from(e.iv ?? "", "base64url"));
    d.setAAD(Buffer.from(kid));
    d.setAuthTag(Buffer.from(e.tag ?? "", "base64url"));
    return Buffer.concat([d.update(Buffer.from(e.ct ?? "", "base64url")), d.final()]).toString("utf8");
  } catch {
    throw new KekError(`The signing key ${kid} does not decrypt: the database was altered or the key-encryption key is wrong.`);
  }
}
