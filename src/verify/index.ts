/**
 * tessera-oauth/verify: accept Tessera's access tokens in a resource server.
 *
 *   http.createServer(protect({ issuer, audience: "https://api.example.com", scopes: ["read"] }, handler));
 */

export { bearerToken } from "./bearer-credentials.js";
export { bearerChallenge } from "./challenge.js";
export { type AccessTokenInterceptorOptions, accessTokenClaimsKey, accessTokenInterceptor } from "./connect-interceptor.js";
export { BEARER_STATUS, type BearerErrorCode, BearerTokenError, KeySetUnavailableError } from "./errors.js";
export {
  type AccessTokenMiddleware,
  type AuthenticatedRequest,
  type ProtectOptions,
  protect,
  requireAccessToken,
} from "./http-middleware.js";
export { IssuerKeys, type IssuerKeysOptions } from "./issuer-keys.js";
export { type AccessTokenVerifier, createVerifier, type VerifierOptions } from "./verifier.js";
export { type AccessTokenClaims, DEFAULT_ALGORITHMS, type VerifyOptions, verifyAccessToken } from "./verify-access-token.js";
