/** JWS algorithms Tessera can sign access tokens with (RFC 7518, RFC 8037). */
export const SIGNING_ALGS = ["ES256", "EdDSA", "RS256", "PS256"] as const;
/** One of SIGNING_ALGS. */
export type SigningAlg = (typeof SIGNING_ALGS)[number];

/** True when `s` names a supported signing algorithm (case-sensitive, as in JOSE). */
export function isSigningAlg(s: string): s is SigningAlg {
  return (SIGNING_ALGS as readonly string[]).includes(s);
}
