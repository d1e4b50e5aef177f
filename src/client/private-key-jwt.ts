import { randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import { ClientAssertion } from "./client-assertion.js";
import type { ClientKey } from "./client-key.js";
import type { ClientKeySource } from "./client-key-source.js";
import type { IssuerSource } from "./issuer-discovery.js";

/** The explicit type of a client authentication JWT (RFC 7523bis), so it cannot pass for another kind of JWT. */
export const CLIENT_AUTHENTICATION_JWT_TYPE = "client-authentication+jwt";

/**
 * How long an assertion is valid, in seconds: enough for one request between clocks a little
 * apart, short enough that an assertion seen in transit is soon useless (servers cap it too).
 */
export const ASSERTION_LIFETIME_SECONDS = 60;

/** What one assertion says. */
export interface AssertionInput {
  clientId: string;
  /** The authorization server's issuer identifier. */
  audience: string;
  key: ClientKey;
  /** Milliseconds since the epoch. */
  now: number;
}

/**
 * Signs one private_key_jwt client assertion (RFC 7523 §3, as tightened by RFC 7523bis): iss
 * and sub are the client id, aud is the issuer identifier as a single string, a jti never
 * used before, iat now and exp a minute later; the header carries typ
 * client-authentication+jwt and the key's alg and kid.
 */
export function signClientAssertion(input: AssertionInput): Promise<string> {
  const iat = Math.floor(input.now / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: input.key.alg, kid: input.key.kid, typ: CLIENT_AUTHENTICATION_JWT_TYPE })
    .setIssuer(input.clientId)
    .setSubject(input.clientId)
    .setAudience(input.audience)
    .setJti(randomUUID())
    .setIssuedAt(iat)
    .setExpirationTime(iat + ASSERTION_LIFETIME_SECONDS)
    .sign(input.key.key);
}

/** What private_key_jwt authentication needs, passed in. */
export interface PrivateKeyJwtOptions {
  clientId: string;
  key: ClientKeySource;
  issuer: IssuerSource;
  /** The clock for iat and exp. */
  now: () => number;
  /** Where the id and key came from, for invalid_client advice. */
  source: string;
}

/**
 * Client authentication with a private key: a new assertion, signed at the moment of each
 * token request (each try of a retried request too), so no two requests share a jti and none
 * carries an assertion close to its expiry.
 */
export function privateKeyJwt(options: PrivateKeyJwtOptions): (signal: AbortSignal) => Promise<ClientAssertion> {
  return async (signal) => {
    const [audience, key] = await Promise.all([options.issuer(signal), options.key()]);
    const jwt = await signClientAssertion({ clientId: options.clientId, audience, key, now: options.now() });
    return new ClientAssertion(options.clientId, jwt, "private_key_jwt", options.source);
  };
}
