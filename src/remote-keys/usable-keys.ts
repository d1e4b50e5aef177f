import type { JsonWebKey } from "node:crypto";
import { FetchFailedError } from "./fetch-json.js";

const SIGNATURE_KEY_TYPES = new Set(["EC", "OKP", "RSA"]);
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
/** Larger sets are cut here: nobody publishes more signing keys, and each costs a lookup. */
const MAX_KEYS = 100;

/**
 * The signature keys of a fetched JWKS (RFC 7517 §5: {"keys": [...]}): asymmetric public keys
 * whose use, if given, is sig, or jwt-svid in a SPIFFE trust bundle (whose x509-svid entries
 * are CA certificates, not JWT keys). Keys for encryption, symmetric keys and any key carrying
 * a private member are left out. A set with no usable key is a failure.
 */
export function usableKeys(body: unknown): readonly JsonWebKey[] {
  const keys = typeof body === "object" && body !== null ? (body as { keys?: unknown }).keys : undefined;
  if (!Array.isArray(keys)) throw new FetchFailedError('its answer is not a JWKS (a JSON object with a "keys" array)');
  const usable = keys
    .filter((k): k is JsonWebKey => typeof k === "object" && k !== null && !Array.isArray(k))
    .filter(
      (k) =>
        SIGNATURE_KEY_TYPES.has(String(k.kty)) &&
        (k.use === undefined || k.use === "sig" || k.use === "jwt-svid") &&
        !PRIVATE_MEMBERS.some((m) => m in k),
    )
    .slice(0, MAX_KEYS);
  if (usable.length === 0) throw new FetchFailedError("its JWKS holds no public signature key");
  return Object.freeze(usable);
}
