import { createHash, createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from "node:crypto";
import type { JWK } from "jose";
import { ClientConfigError } from "./errors.js";

/**
 * The algorithms a client signs its assertions with: asymmetric only. A client assertion is
 * never unsigned (`none`) nor an HMAC (HS*), whose key the server would have to hold too.
 */
export const CLIENT_ASSERTION_ALGS = ["ES256", "EdDSA", "RS256", "PS256"] as const;

/** One of CLIENT_ASSERTION_ALGS. */
export type ClientAssertionAlg = (typeof CLIENT_ASSERTION_ALGS)[number];

/** A private key ready to sign client assertions: the key, its algorithm and its key id. */
export interface ClientKey {
  readonly key: KeyObject;
  readonly alg: ClientAssertionAlg;
  /** The `kid` header: the key id given, else the JWK's own, else its RFC 7638 thumbprint. */
  readonly kid: string;
}

// The key type each algorithm needs (Node's asymmetricKeyType).
const KEY_TYPES: Record<ClientAssertionAlg, readonly string[]> = {
  ES256: ["ec"],
  EdDSA: ["ed25519"],
  RS256: ["rsa"],
  PS256: ["rsa"],
};

const MIN_RSA_BITS = 2048;

/**
 * A private key from a JWK (an object, or its JSON text) or PEM text (PKCS#8, SEC1 or
 * PKCS#1). `from` says where it came from ("CLIENT_KEY_FILE /run/key.jwk") for the
 * ClientConfigError thrown when it is unusable; no message ever quotes the key.
 */
export function parseClientKey(material: string | JWK, from: string, keyId?: string): ClientKey {
  const jwk = typeof material === "string" ? jwkText(material, from) : (material as JsonWebKey);
  const key = jwk === undefined ? pemKey(material as string, from) : jwkKey(jwk, from);
  const alg = algorithmOf(key, jwk, from);
  const kid =
    keyId ?? (typeof jwk?.kid === "string" && jwk.kid !== "" ? jwk.kid : jwkThumbprint(createPublicKey(key).export({ format: "jwk" })));
  return { key, alg, kid };
}

/**
 * The RFC 7638 thumbprint of a public JWK (SHA-256, base64url): a key id both sides can
 * compute from the key alone.
 */
export function jwkThumbprint(jwk: JsonWebKey): string {
  // RFC 7638 §3.2: only the required members, in lexicographic order, without whitespace.
  const required: Record<string, readonly string[]> = { EC: ["crv", "kty", "x", "y"], OKP: ["crv", "kty", "x"], RSA: ["e", "kty", "n"] };
  const names = required[jwk.kty ?? ""];
  if (names === undefined) throw new Error(`no RFC 7638 thumbprint for a key of type ${String(jwk.kty)}`);
  const members = names.map((n) => `${JSON.stringify(n)}:${JSON.stringify(jwk[n as keyof JsonWebKey])}`);
  return createHash("sha256")
    .update(`{${members.join(",")}}`)
    .digest("base64url");
}

/** The JWK in `text`, or undefined when it is PEM; anything else is refused. */
function jwkText(text: string, from: string): JsonWebKey | undefined {
  const trimmed = text.trim();
  if (trimmed.startsWith("-----BEGIN ")) return undefined;
  if (!trimmed.startsWith("{")) throw new ClientConfigError(`${from} holds neither a JWK (JSON) nor a PEM private key.`);
  try {
    // JSON.parse's message quotes the text around the mistake: never pass it on.
    return JSON.parse(trimmed) as JsonWebKey;
  } catch {
    throw new ClientConfigError(`${from} is not valid JSON, so not a JWK.`);
  }
}

function jwkKey(jwk: JsonWebKey, from: string): KeyObject {
  if (jwk === null || typeof jwk !== "object" || Array.isArray(jwk)) throw new ClientConfigError(`${from} is not a JWK (a JSON object).`);
  if (jwk.kty === "oct") {
    throw new ClientConfigError(
      `${from} is a symmetric key (kty oct): client assertions are signed with a private key (${CLIENT_ASSERTION_ALGS.join(", ")}), never with a shared secret.`,
    );
  }
  if (jwk.d === undefined)
    throw new ClientConfigError(`${from} is a public key; the client signs with its private key (the JWK with "d").`);
  if (jwk.use !== undefined && jwk.use !== "sig")
    throw new ClientConfigError(`${from} is for use "${String(jwk.use)}", not for signing ("sig").`);
  try {
    return createPrivateKey({ key: jwk, format: "jwk" });
  } catch {
    throw new ClientConfigError(`${from} is not a valid private JWK.`);
  }
}

function pemKey(pem: string, from: string): KeyObject {
  if (/-----BEGIN (RSA |EC )?PUBLIC KEY-----/.test(pem) || pem.includes("-----BEGIN CERTIFICATE-----")) {
    throw new ClientConfigError(`${from} holds a public key or certificate; the client signs with its private key.`);
  }
  if (pem.includes("-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
    throw new ClientConfigError(
      `${from} is encrypted with a passphrase; give the key unencrypted in a file only this service can read, or as a JWK.`,
    );
  }
  try {
    return createPrivateKey(pem);
  } catch {
    throw new ClientConfigError(`${from} is not a valid PEM private key.`);
  }
}

/** The JWK's `alg` when it has one (checked against the key), else the key type's algorithm. */
function algorithmOf(key: KeyObject, jwk: JsonWebKey | undefined, from: string): ClientAssertionAlg {
  const type = key.asymmetricKeyType ?? "";
  const details = key.asymmetricKeyDetails ?? {};
  if (type === "ec" && details.namedCurve !== "prime256v1") {
    throw new ClientConfigError(`${from} is an EC key on curve ${details.namedCurve ?? "unknown"}; client assertions use P-256 (ES256).`);
  }
  if (type === "rsa-pss") {
    // A JWK has no form for a key restricted to PSS: PS256 signs with a plain RSA key.
    throw new ClientConfigError(`${from} is an RSA-PSS key; give a plain RSA key, as a JWK with alg PS256 to sign PS256.`);
  }
  if (type === "rsa" && (details.modulusLength ?? 0) < MIN_RSA_BITS) {
    throw new ClientConfigError(`${from} is a ${details.modulusLength ?? "?"}-bit RSA key; use at least ${MIN_RSA_BITS} bits.`);
  }
  const given: unknown = jwk?.alg;
  if (given !== undefined) {
    if (typeof given !== "string" || !(CLIENT_ASSERTION_ALGS as readonly string[]).includes(given)) {
      throw new ClientConfigError(
        `${from} has alg ${JSON.stringify(given)}; client assertions are signed with ${CLIENT_ASSERTION_ALGS.join(", ")}.`,
      );
    }
    const alg = given as ClientAssertionAlg;
    if (!KEY_TYPES[alg].includes(type))
      throw new ClientConfigError(`${from} has alg ${alg}, which does not fit its key type (${type || "unknown"}).`);
    return alg;
  }
  // An RSA key without an alg signs RS256, the one every server accepts.
  const inferred = (Object.keys(KEY_TYPES) as ClientAssertionAlg[]).find((a) => KEY_TYPES[a].includes(type));
  if (inferred === undefined) {
    throw new ClientConfigError(
      `${from} is a key of type ${type || "unknown"}; client assertions are signed with ${CLIENT_ASSERTION_ALGS.join(", ")} (EC P-256, Ed25519 or RSA keys).`,
    );
  }
  return inferred;
}
