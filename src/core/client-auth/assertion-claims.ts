import { OAuthError } from "../errors.js";
import { quoted } from "../quoted.js";
import type { CompactJwt } from "./compact-jwt.js";

/**
 * JWS algorithms accepted for client assertions and platform tokens: asymmetric only (RFC 7518,
 * RFC 8037). Never `none`, and never HS*: an HMAC "signed" with a client's public key would
 * verify for anyone who read that public key.
 */
export const ASSERTION_ALGS = ["ES256", "ES384", "ES512", "EdDSA", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"] as const;

/** How far clocks may disagree: nbf and iat may lie this far ahead, exp this far behind. */
export const ASSERTION_SKEW_SECONDS = 30;

/** One refusal of client authentication, saying which check failed (RFC 7521 §4.2.1: invalid_client). */
export function refuse(description: string): OAuthError {
  return new OAuthError("invalid_client", description);
}

const ACCEPTED = new Set<string>(ASSERTION_ALGS);

/** The header's alg when it is on the allow-list. */
export function checkAlgorithm(jwt: CompactJwt): string {
  const alg = jwt.header.alg;
  if (typeof alg !== "string") throw refuse("The client_assertion's header has no alg");
  if (!ACCEPTED.has(alg)) {
    throw refuse(`The client_assertion's alg ${quoted(alg)} is not accepted: only the asymmetric algorithms ${ASSERTION_ALGS.join(", ")}`);
  }
  return alg;
}

/** exp is required and not past; nbf and iat, when present, are numbers not in the future (all with the skew). */
export function checkTimes(jwt: CompactJwt, now: number): void {
  const { exp, nbf, iat } = jwt.claims;
  const nowS = now / 1000;
  if (exp === undefined) throw refuse("The client_assertion has no exp claim (RFC 7523 section 3 requires one)");
  if (!isTime(exp)) throw refuse("The client_assertion's exp is not a number of seconds");
  if (exp + ASSERTION_SKEW_SECONDS <= nowS) throw refuse(`The client_assertion expired ${Math.floor(nowS - exp)}s ago`);
  if (nbf !== undefined) {
    if (!isTime(nbf)) throw refuse("The client_assertion's nbf is not a number of seconds");
    if (nbf > nowS + ASSERTION_SKEW_SECONDS)
      throw refuse(`The client_assertion is not valid before ${new Date(nbf * 1000).toISOString()} (nbf)`);
  }
  if (iat !== undefined) {
    if (!isTime(iat)) throw refuse("The client_assertion's iat is not a number of seconds");
    if (iat > nowS + ASSERTION_SKEW_SECONDS)
      throw refuse(`The client_assertion's iat ${new Date(iat * 1000).toISOString()} lies in the future`);
  }
}

/**
 * `aud` must be `expected` alone: a string, or an array holding only it (the 2026 revision of
 * RFC 7523, draft-ietf-oauth-rfc7523bis section 4). A JWT naming several audiences, or one that
 * another party also accepts (a token endpoint URL), can be replayed to us by whoever received it.
 */
export function checkSoleAudience(jwt: CompactJwt, expected: string, what: string, tokenEndpoint?: string): void {
  const aud = jwt.claims.aud;
  const rule = `it must be ${what} ${quoted(expected)} alone`;
  if (aud === undefined) throw refuse(`The client_assertion has no aud claim: ${rule}`);
  const values = Array.isArray(aud) ? aud : [aud];
  if (values.length !== 1) {
    throw refuse(
      `The client_assertion's aud holds ${values.length} values: ${rule} (a JWT for several audiences could be replayed to us by any of them)`,
    );
  }
  const [only] = values;
  if (only === expected) return;
  if (typeof only !== "string") throw refuse(`The client_assertion's aud is not a string: ${rule}`);
  if (only === tokenEndpoint)
    throw refuse(`The client_assertion's aud is the token endpoint URL: ${rule} (the issuer identifier, not an endpoint)`);
  throw refuse(`The client_assertion's aud is ${quoted(only)}: ${rule}`);
}

/** The jti claim, required and a non-empty string. */
export function requireJti(jwt: CompactJwt, why: string): string {
  const jti = jwt.claims.jti;
  if (jti === undefined) throw refuse(`The client_assertion has no jti claim: ${why}`);
  if (typeof jti !== "string" || jti === "" || jti.length > 256)
    throw refuse("The client_assertion's jti must be a string of 1 to 256 characters");
  return jti;
}

function isTime(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v);
}
