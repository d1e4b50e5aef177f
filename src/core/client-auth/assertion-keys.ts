import type { JsonWebKey } from "node:crypto";
import { compactVerify } from "jose";
import { type KeySetLocation, KeySetUnavailableError, type RemoteKeySets } from "../ports/key-sets.js";
import { quoted } from "../quoted.js";
import { refuse } from "./assertion-claims.js";
import type { CompactJwt } from "./compact-jwt.js";
import type { ImportedKeys, VerificationKey } from "./imported-keys.js";

/** The keys an assertion may be signed with, and how messages name where they come from. */
export interface KeyChoice {
  /** Fetched from here (refetched once on an unknown kid), or given. */
  source: { location: KeySetLocation } | { keys: readonly JsonWebKey[] };
  /** e.g. "the client's registered keys", "the keys at 'https://...'". */
  name: string;
}

// RFC 7518 §3.1 and RFC 8037: the key type (and curve) each accepted algorithm signs with.
const KEY_TYPES: Record<string, { kty: string; crv?: readonly string[] }> = {
  ES256: { kty: "EC", crv: ["P-256"] },
  ES384: { kty: "EC", crv: ["P-384"] },
  ES512: { kty: "EC", crv: ["P-521"] },
  EdDSA: { kty: "OKP", crv: ["Ed25519", "Ed448"] },
};

/**
 * Verifies the assertion's signature with the key its header's kid names among `choice` (with
 * no kid: the one key that fits its algorithm). Every refusal says what did not fit.
 */
export async function verifySignature(
  jwt: CompactJwt,
  alg: string,
  choice: KeyChoice,
  keySets: RemoteKeySets,
  imported: ImportedKeys,
): Promise<void> {
  const kid = jwt.header.kid;
  if (kid !== undefined && typeof kid !== "string") throw refuse("The client_assertion's kid is not a string");
  const keys = await keysOf(choice, kid, keySets);
  const key = chooseKey(keys, kid, alg, choice.name);
  let verificationKey: VerificationKey;
  try {
    verificationKey = await imported.get(key, alg);
  } catch {
    throw refuse(`The key ${quoted(typeof key.kid === "string" ? key.kid : "(no kid)")} of ${choice.name} cannot verify ${alg} signatures`);
  }
  try {
    await compactVerify(jwt.compact, verificationKey, { algorithms: [alg] });
  } catch {
    throw refuse(
      `The client_assertion's signature does not verify with the key ${quoted(typeof key.kid === "string" ? key.kid : "(no kid)")} of ${choice.name}`,
    );
  }
}

async function keysOf(choice: KeyChoice, kid: string | undefined, keySets: RemoteKeySets): Promise<readonly JsonWebKey[]> {
  if ("keys" in choice.source) return choice.source.keys;
  try {
    return await keySets.keys(choice.source.location, kid);
  } catch (err) {
    // RFC 6749 §5.2 character set, whatever the adapter's message holds.
    if (err instanceof KeySetUnavailableError)
      throw refuse(`Cannot fetch ${choice.name}: ${err.message.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, "?")}`);
    throw err;
  }
}

/** The key named by `kid`, or without a kid the only key that fits `alg`; it must fit `alg`. */
function chooseKey(keys: readonly JsonWebKey[], kid: string | undefined, alg: string, name: string): JsonWebKey {
  if (kid === undefined) {
    const fitting = keys.filter((k) => fits(k, alg));
    const [only] = fitting;
    if (only === undefined) throw refuse(`None of ${name} fits the client_assertion's alg ${alg}`);
    if (fitting.length > 1)
      throw refuse(`The client_assertion has no kid, and ${fitting.length} of ${name} fit its alg ${alg}: name the key with kid`);
    return only;
  }
  const key = keys.find((k) => k.kid === kid);
  if (key === undefined) throw refuse(`The client_assertion's kid ${quoted(kid)} names none of ${name}`);
  if (!fits(key, alg)) throw refuse(`The key ${quoted(kid)} of ${name} is not for the client_assertion's alg ${alg}`);
  return key;
}

/** Whether `key` may verify `alg`: its type and curve, its own alg and use when it names them. */
function fits(key: JsonWebKey, alg: string): boolean {
  if (typeof key.alg === "string" && key.alg !== alg) return false;
  // jwt-svid: a SPIFFE trust bundle's JWT signing key (SPIFFE Trust Domain and Bundle §4.2).
  if (key.use !== undefined && key.use !== "sig" && key.use !== "jwt-svid") return false;
  const type = KEY_TYPES[alg] ?? { kty: "RSA" };
  return key.kty === type.kty && (type.crv === undefined || type.crv.includes(String(key.crv)));
}
