import { BearerTokenError } from "./errors.js";

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * The access token of a request, from its Authorization header only. A token in the query
 * string (RFC 6750 §2.3) is refused: URLs end up in logs, proxies and browser history.
 * Throws BearerTokenError: missing_token when there is no Bearer credential at all
 * (another scheme counts as none, RFC 6750 §3.1), invalid_request when it is malformed.
 */
export function bearerToken(authorization: string | string[] | null | undefined, url: string | undefined): string {
  if (url !== undefined && new URLSearchParams(url.split("?")[1]?.split("#")[0] ?? "").has("access_token")) {
    throw new BearerTokenError("invalid_request", "Send the access token in the Authorization header, not in the URL");
  }
  if (Array.isArray(authorization)) {
    if (authorization.length > 1) throw new BearerTokenError("invalid_request", "The request has more than one Authorization header");
    authorization = authorization[0];
  }
  if (!authorization || !/^Bearer(\s|$)/i.test(authorization)) {
    throw new BearerTokenError("missing_token", "This resource needs an access token (Authorization: Bearer)");
  }
  const token = BEARER.exec(authorization)?.[1];
  if (token === undefined) throw new BearerTokenError("invalid_request", "The Authorization header is not a well-formed Bearer credential");
  return token;
}
