import { OAuthError } from "./errors.js";
import { quoted } from "./quoted.js";

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), i.e. printable
// ASCII except space, double quote and backslash.
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** Maximum number of scope tokens accepted in one request or stored on one client. */
export const MAX_SCOPES = 200;
/** Maximum length of one scope token. */
export const MAX_SCOPE_LENGTH = 200;

/** True when `s` is a syntactically valid RFC 6749 scope token of sane length. */
export function isScopeToken(s: string): boolean {
  return s.length <= MAX_SCOPE_LENGTH && SCOPE_TOKEN.test(s);
}

/**
 * Parses a space-delimited, case-sensitive scope parameter into distinct tokens, in order.
 * Runs of spaces are tolerated; anything that is not a scope token is `invalid_scope`.
 */
export function parseScope(raw: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const token of raw.split(" ")) {
    if (token === "") continue;
    if (!isScopeToken(token)) {
      throw new OAuthError(
        "invalid_scope",
        `The scope ${quoted(token)} is malformed: a scope is printable ASCII without double quote or backslash, at most ${MAX_SCOPE_LENGTH} characters`,
      );
    }
    if (!seen.has(token)) {
      seen.add(token);
      out.push(token);
    }
  }
  if (out.length > MAX_SCOPES) {
    throw new OAuthError("invalid_scope", `At most ${MAX_SCOPES} scopes may be requested`);
  }
  return out;
}
