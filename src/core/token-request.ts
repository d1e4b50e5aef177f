import type { ClientCredentials } from "./client-auth/client-authenticator.js";

/** The credentials part of a request, as the client authentication methods define it. */
export type { ClientAuthMethod, ClientCredentials } from "./client-auth/client-authenticator.js";

/** A client credentials token request, parsed once by whichever transport received it. */
export interface TokenRequest {
  /** Undefined when the request carried no client authentication at all. */
  credentials: ClientCredentials | undefined;
  /** The raw `scope` parameter; undefined or "" means the client's allowed scopes. */
  scope: string | undefined;
  /** `audience` values (Auth0/Hydra style) and RFC 8707 `resource` values, in order. */
  audiences: string[];
  /** The caller's network address (after trusted proxies), for per-address limits. */
  origin?: string | undefined;
}

/** The successful token response (RFC 6749 §5.1), field names as on the wire. */
export interface TokenResponse {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  /** Granted scopes, space-separated; absent (or undefined) when the client has none. */
  scope?: string | undefined;
}
