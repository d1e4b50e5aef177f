import { ASSERTION_ALGS } from "../../core/client-auth/assertion-claims.js";
import { CLIENT_AUTH_METHODS } from "../../core/client-auth/client-authenticators.js";

/**
 * RFC 8414 authorization server metadata for `issuer`, listing the signing algorithms in use
 * and, for each endpoint that authenticates clients, the methods and the algorithms accepted
 * for private_key_jwt assertions (RFC 8414 §2: *_auth_signing_alg_values_supported).
 */
export function authorizationServerMetadata(issuer: string, signingAlgs: string[]): Record<string, unknown> {
  const base = issuer.replace(/\/+$/, "");
  const authMethods = CLIENT_AUTH_METHODS;
  const assertionAlgs = ASSERTION_ALGS;
  return {
    issuer,
    token_endpoint: `${base}/oauth/token`,
    jwks_uri: `${base}/.well-known/jwks.json`,
    revocation_endpoint: `${base}/oauth/revoke`,
    introspection_endpoint: `${base}/oauth/introspect`,
    grant_types_supported: ["client_credentials"],
    response_types_supported: [],
    token_endpoint_auth_methods_supported: authMethods,
    token_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    revocation_endpoint_auth_methods_supported: authMethods,
    revocation_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    introspection_endpoint_auth_methods_supported: authMethods,
    introspection_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    access_token_signing_alg_values_supported: signingAlgs,
  };
}
