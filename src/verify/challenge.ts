import type { BearerTokenError } from "./errors.js";

/**
 * The RFC 6750 §3 `WWW-Authenticate` value for a refusal: realm always; error and
 * error_description unless no token was sent at all; scope for insufficient_scope.
 */
export function bearerChallenge(err: BearerTokenError, realm: string): string {
  const parts = [`realm=${quote(realm)}`];
  if (err.code !== "missing_token") {
    parts.push(`error=${quote(err.code)}`, `error_description=${quote(err.message)}`);
  }
  if (err.code === "insufficient_scope" && err.requiredScopes.length > 0) parts.push(`scope=${quote(err.requiredScopes.join(" "))}`);
  return `Bearer ${parts.join(", ")}`;
}

// RFC 6750 §3: error_description and scope allow %x20-21 / %x23-5B / %x5D-7E only: no
// quote, no backslash, nothing outside printable ASCII.
function quote(value: string): string {
  return `"${value.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, "?")}"`;
}
