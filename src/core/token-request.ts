/** How the client presented its credentials (RFC 6749 §2.3.1; OAuth registry names). */
export type ClientAuthMethod = "client_secret_basic" | "client_secret_post";

/** Client id and secret as presented, already decoded by the transport. */
export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
  method: ClientAuthMethod;
}

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
  /** Granted scopes, space-separated; absent when the client has none. */
  scope?: string;
}
