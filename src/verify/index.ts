/**
 * tessera-oauth/verify: accept Tessera's access tokens in a resource server.
 *
 *   http.createServer(protect({ issuer, audience: "https://api.example.com", scopes: ["read"] }, handler));
 */
export { verifyAccessToken, DEFAULT_ALGORITHMS, type VerifyOptions, type AccessTokenClaims } from "./verify-access-token.js";
export { createVerifier, type VerifierOptions, type AccessTokenVerifier } from "./verifier.js";
export { IssuerKeys, type IssuerKeysOptions } from "./issuer-keys.js";
export { BearerTokenError, KeySetUnavailableError, BEARER_STATUS, type BearerErrorCode } from "./errors.js";
export { bearerToken } from "./bearer-credentials.js";
export { bearerChallenge } from "./challenge.js";
export {
  requireAccessToken,
  protect,
  type ProtectOptions,
  type AuthenticatedRequest,
  type AccessTokenMiddleware,
} from "./http-middleware.js";
export { accessTokenInterceptor, accessTokenClaimsKey, type AccessTokenInterceptorOptions } from "./connect-interceptor.js";
