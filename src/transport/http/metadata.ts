import { SIGNING_ALGS } from "../../keys/algorithms.js";

/** RFC 8414 authorization server metadata for `issuer`. */
export function authorizationServerMetadata(issuer: string): Record<string, unknown> {
  const base = issuer.replace(/\/+$/, "");
  return {
    issuer,
    token_endpoint: `${base}/oauth/token`,
    jwks_uri: `${base}/.well-known/jwks.json`,
    grant_types_supported: ["client_credentials"],
    token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
    response_types_supported: [],
    access_token_signing_alg_values_supported: [...SIGNING_ALGS],
  };
}
