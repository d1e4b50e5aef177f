import { CLIENT_AUTH_METHODS } from "../../core/client-auth/client-authenticators.js";

/** RFC 8414 authorization server metadata for `issuer`, listing the signing algorithms in use. */
export function authorizationServerMetadata(issuer: string, signingAlgs: string[]): Record<string, unknown> {
  const base = issuer.replace(/\/+$/, "");
  const authMethods = CLIENT_AUTH_METHODS;
  return {
    issuer,
    token_endpoint: `${base}/oauth/token`,
    jwks_uri: `${base}/.well-known/jwks.json`,
    revocation_endpoint: `${base}/oauth/revoke`,
    introspection_endpoint: `${base}/oauth/introspect`,
    grant_types_supported: ["client_credentials"],
    response_types_supported: [],
    token_endpoint_auth_methods_supported: authMethods,
    revocation_endpoint_auth_methods_supported: authMethods,
    introspection_endpoint_auth_methods_supported: authMethods,
    access_token_signing_alg_values_supported: signingAlgs,
  };
}
