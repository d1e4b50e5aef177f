import { OAuthError } from "./errors.js";

/**
 * Decodes one application/x-www-form-urlencoded component ('+' is a space; WHATWG URL §5.1),
 * strictly: a malformed '%' escape, or one that is not UTF-8, is refused with invalid_request
 * and `problem` as its description rather than replaced. Shared by the form body and the
 * Basic credentials (RFC 6749 Appendix B encodes both parts the same way).
 */
export function formDecode(s: string, problem: string): string {
  // Most values (grant types, scopes, ids) have nothing to decode.
  if (s.indexOf("%") < 0 && s.indexOf("+") < 0) return s;
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    throw new OAuthError("invalid_request", problem);
  }
}
