import { createLocalJWKSet, type JWTPayload, type JWTVerifyResult, jwtVerify } from "jose";

/** Verifies a token with jose against the server's published JWKS, as a resource server would. */
export async function verifyWithJwks(
  baseUrl: string,
  token: string,
  issuer: string,
  audience?: string,
): Promise<JWTVerifyResult<JWTPayload>> {
  const jwks = (await (await fetch(`${baseUrl}/.well-known/jwks.json`)).json()) as Parameters<typeof createLocalJWKSet>[0];
  return jwtVerify(token, createLocalJWKSet(jwks), { issuer, typ: "at+jwt", ...(audience ? { audience } : {}) });
}
