import { createPublicKey, type JsonWebKey } from "node:crypto";
import { calculateJwkThumbprint } from "jose";
import { ASSERTION_ALGS } from "./client-auth/assertion-claims.js";
import { AdminError } from "./errors.js";
import { preview } from "./preview.js";

/** Members of a JWK that belong to its private part (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
/** The public members kept per key type; anything else (x5c, key_ops, ext) is dropped. */
const PUBLIC_MEMBERS: Record<string, readonly string[]> = { EC: ["crv", "x", "y"], OKP: ["crv", "x"], RSA: ["n", "e"] };
const CURVES: Record<string, readonly string[]> = { EC: ["P-256", "P-384", "P-521"], OKP: ["Ed25519", "Ed448"] };
const MIN_RSA_BITS = 2048;
const KID = /^[\x21-\x7E]{1,200}$/;

/**
 * Checks a public signature key given as a JWK (RFC 7517) and returns it with only its public
 * members, kid, alg and use. Refused, with `field` named: anything that is not an EC, OKP or
 * RSA public key, a private member (the private key must stay with the client), `use` other
 * than sig, an alg Tessera does not accept for assertions, RSA under 2048 bits. Without a kid,
 * the key's RFC 7638 thumbprint becomes its kid.
 */
export async function checkPublicJwk(value: unknown, field: string): Promise<JsonWebKey & { kid: string }> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw invalid(`${field} must be a JSON object (a JWK, RFC 7517)`);
  const jwk = value as Record<string, unknown>;
  const secret = PRIVATE_MEMBERS.find((m) => m in jwk);
  if (secret !== undefined) {
    throw invalid(
      `${field} has the private member ${JSON.stringify(secret)}: register the public key only, and keep the private key with the client (tessera keys generate-client-key prints the public JWK)`,
    );
  }
  const kty = jwk.kty;
  const members = typeof kty === "string" ? PUBLIC_MEMBERS[kty] : undefined;
  if (members === undefined) throw invalid(`${field}.kty must be EC, OKP or RSA (asymmetric keys only), not ${preview(String(kty))}`);
  const curves = CURVES[kty as string];
  if (curves !== undefined && !curves.includes(String(jwk.crv)))
    throw invalid(`${field}.crv must be one of ${curves.join(", ")} for kty ${String(kty)}`);
  if (jwk.use !== undefined && jwk.use !== "sig") throw invalid(`${field}.use must be sig (or absent): these keys verify signatures`);
  if (jwk.alg !== undefined && !(ASSERTION_ALGS as readonly unknown[]).includes(jwk.alg)) {
    throw invalid(`${field}.alg must be one of ${ASSERTION_ALGS.join(", ")} (or absent)`);
  }
  const out: Record<string, string> = { kty: kty as string };
  for (const m of members) {
    if (typeof jwk[m] !== "string") throw invalid(`${field}.${m} is missing or not a string`);
    out[m] = jwk[m] as string;
  }
  const bits = keyBits(out, field);
  if (kty === "RSA" && bits < MIN_RSA_BITS) throw invalid(`${field} is a ${bits}-bit RSA key; at least ${MIN_RSA_BITS} bits are required`);
  if (jwk.kid !== undefined && (typeof jwk.kid !== "string" || !KID.test(jwk.kid)))
    throw invalid(`${field}.kid must be 1-200 printable ASCII characters without spaces`);
  const kid = (jwk.kid as string | undefined) ?? (await calculateJwkThumbprint(out as Parameters<typeof calculateJwkThumbprint>[0]));
  return { ...out, kid, ...(typeof jwk.alg === "string" ? { alg: jwk.alg } : {}), use: "sig" };
}

/** The key's size in bits as the platform reads it (RSA modulus, curve size); refuses a key it cannot read. */
function keyBits(jwk: Record<string, string>, field: string): number {
  try {
    const key = createPublicKey({ key: jwk, format: "jwk" });
    return key.asymmetricKeyDetails?.modulusLength ?? 256;
  } catch {
    throw invalid(`${field} is not a valid ${jwk.kty} public key (its members do not make a key)`);
  }
}

function invalid(message: string): AdminError {
  return new AdminError("invalid_argument", message);
}
