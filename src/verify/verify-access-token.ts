import { decodeProtectedHeader, errors, type JWTPayload, jwtVerify } from "jose";
import { BearerTokenError, KeySetUnavailableError } from "./errors.js";
import { IssuerKeys } from "./issuer-keys.js";

/** The asymmetric algorithms Tessera signs with; the default allow-list. */
export const DEFAULT_ALGORITHMS: readonly string[] = ["ES256", "EdDSA", "RS256", "PS256"];

/** What a resource server expects of the tokens it accepts. */
export interface VerifyOptions {
  /** The exact `iss` (Tessera's --issuer). */
  issuer: string;
  /** This resource server's identifier; the token's `aud` must contain it (or one of them). */
  audience: string | string[];
  /** Scopes the token must all carry; a token without them fails with insufficient_scope. */
  requiredScopes?: readonly string[] | undefined;
  /** Cached keys; without it, a cache per issuer kept by this module is used. */
  keys?: IssuerKeys | undefined;
  /** Accepted `alg` values; `none` and HS* are refused here whatever you pass. */
  algorithms?: readonly string[] | undefined;
  /** Clock skew allowed on exp/nbf/iat, seconds. Default 30. */
  clockToleranceSeconds?: number | undefined;
  /**
   * Longest lifetime (exp - iat) accepted, seconds. Default 86400, the longest Tessera issues:
   * a longer one was signed with a leaked key, not by Tessera. Raise it only for another issuer.
   */
  maxTokenLifetimeSeconds?: number | undefined;
  /** Milliseconds since the epoch; tests pass a fake. */
  clock?: (() => number) | undefined;
}

/** The claims of a verified RFC 9068 access token, plus the scope list split out. */
export interface AccessTokenClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  jti: string;
  clientId: string;
  scopes: string[];
  /** Every claim as signed, including any this type does not name. */
  payload: JWTPayload;
}

// The one-line use (no `keys`) must not fetch the JWKS on every request, so keys are cached
// per issuer here. Bounded: a resource server trusts a handful of issuers at most.
const cachedKeys = new Map<string, IssuerKeys>();
function sharedKeys(issuer: string): IssuerKeys {
  let keys = cachedKeys.get(issuer);
  if (!keys) {
    const oldest = cachedKeys.size >= 16 ? cachedKeys.keys().next() : undefined;
    if (oldest && !oldest.done) cachedKeys.delete(oldest.value);
    keys = new IssuerKeys({ issuer });
    cachedKeys.set(issuer, keys);
  }
  return keys;
}

/**
 * Verifies an RFC 9068 access token: signature by one of the issuer's keys, header
 * `typ: at+jwt`, an allowed asymmetric `alg`, exact `iss`, our `aud`, `exp`/`nbf` with a small
 * skew, then the required scopes. Throws BearerTokenError (invalid_token or
 * insufficient_scope), or KeySetUnavailableError when the keys cannot be fetched.
 */
export async function verifyAccessToken(token: string, options: VerifyOptions): Promise<AccessTokenClaims> {
  const algorithms = allowedAlgorithms(options.algorithms);
  if (options.audience.length === 0) throw new TypeError("verifyAccessToken: audience is empty; name this resource server");
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    throw new BearerTokenError("invalid_token", "The access token is not a JWT");
  }
  // Checked before any key lookup, so `none` and HMAC tokens never reach key selection.
  if (typeof alg !== "string" || !algorithms.includes(alg)) {
    throw new BearerTokenError("invalid_token", `The access token's algorithm ${String(alg).slice(0, 20)} is not accepted`);
  }
  const keys =
    options.keys ?? (options.clock ? new IssuerKeys({ issuer: options.issuer, clock: options.clock }) : sharedKeys(options.issuer));
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keys.getKey, {
      issuer: options.issuer,
      audience: typeof options.audience === "string" ? options.audience : [...options.audience],
      typ: "at+jwt",
      algorithms,
      clockTolerance: options.clockToleranceSeconds ?? 30,
      currentDate: new Date((options.clock ?? Date.now)()),
      // RFC 9068 §2.2: these are required in every access token.
      requiredClaims: ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"],
    }));
  } catch (err) {
    throw refusal(err);
  }
  const required = requiredClaims(payload);
  checkIssuedAt(required, options);
  const claims = toClaims(payload, required);
  const missing = (options.requiredScopes ?? []).filter((s) => !claims.scopes.includes(s));
  if (missing.length > 0) {
    throw new BearerTokenError("insufficient_scope", `The access token lacks the scope ${missing.join(" ")}`, options.requiredScopes);
  }
  return claims;
}

/** Longest lifetime (exp - iat) accepted by default: the longest a Tessera token lives. */
const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 24 * 3600;

/**
 * What jose leaves unchecked about `iat` (it checks it only against a maximum age): a token
 * issued in the future, beyond the clock skew, and one meant to live longer than any the
 * issuer hands out. Both are what a holder of a leaked signing key would make to outlast a
 * revocation.
 */
function checkIssuedAt({ iat, exp }: RequiredClaims, options: VerifyOptions): void {
  const now = (options.clock ?? Date.now)() / 1000;
  if (iat > now + (options.clockToleranceSeconds ?? 30)) {
    throw new BearerTokenError("invalid_token", "The access token's issue time (iat) is in the future");
  }
  if (exp - iat > (options.maxTokenLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS)) {
    throw new BearerTokenError("invalid_token", "The access token's lifetime (exp - iat) is longer than this resource server accepts");
  }
}

/** The allow-list, with `none` and symmetric algorithms struck: a public JWKS must never verify an HMAC. */
function allowedAlgorithms(requested: readonly string[] | undefined): string[] {
  const list = [...(requested ?? DEFAULT_ALGORITHMS)];
  const bad = list.filter((a) => a === "none" || /^HS/i.test(a));
  if (bad.length > 0) throw new TypeError(`verifyAccessToken: algorithms must be asymmetric; remove ${bad.join(", ")}`);
  return list;
}

// Sentences are plain ASCII without quotes: they go into WWW-Authenticate (RFC 6750 §3).
const CLAIM_PROBLEMS: Record<string, string> = {
  iss: "The access token is from another issuer",
  aud: "The access token is not meant for this resource server (aud)",
  nbf: "The access token is not valid yet (nbf)",
  iat: "The access token's issue time (iat) is missing or in the future",
  typ: "The token is not an access token (typ must be at+jwt)",
};

/** One sentence per way a token can be wrong; the caller gets it as error_description. */
function refusal(err: unknown): Error {
  if (err instanceof KeySetUnavailableError || err instanceof BearerTokenError) return err;
  if (err instanceof errors.JWTExpired) return new BearerTokenError("invalid_token", "The access token expired");
  if (err instanceof errors.JWTClaimValidationFailed) {
    return new BearerTokenError("invalid_token", CLAIM_PROBLEMS[err.claim] ?? `The access token's ${err.claim} claim is missing or wrong`);
  }
  if (err instanceof errors.JWKSNoMatchingKey)
    return new BearerTokenError("invalid_token", "The access token was signed with an unknown key");
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return new BearerTokenError("invalid_token", "The access token's signature is invalid");
  if (err instanceof errors.JOSEError) return new BearerTokenError("invalid_token", "The access token is malformed");
  return err as Error;
}

/** The RFC 9068 §2.2 claims every access token carries, with the types it gives them. */
interface RequiredClaims {
  iss: string;
  sub: string;
  exp: number;
  iat: number;
  jti: string;
}

/** The required claims, whose presence jwtVerify checked; one of the wrong type refuses the token. */
function requiredClaims(p: JWTPayload): RequiredClaims {
  const { iss, sub, exp, iat, jti } = p;
  if (typeof iss !== "string" || typeof sub !== "string" || typeof exp !== "number" || typeof iat !== "number" || typeof jti !== "string") {
    throw new BearerTokenError(
      "invalid_token",
      "The access token's iss, sub, exp, iat or jti claim has the wrong type (RFC 9068 section 2.2)",
    );
  }
  return { iss, sub, exp, iat, jti };
}

function toClaims(p: JWTPayload, required: RequiredClaims): AccessTokenClaims {
  const aud = typeof p.aud === "string" ? [p.aud] : (p.aud ?? []);
  const scope = typeof p.scope === "string" ? p.scope : "";
  return {
    ...required,
    aud,
    clientId: String(p.client_id),
    scopes: scope.split(" ").filter((s) => s !== ""),
    payload: p,
  };
}
