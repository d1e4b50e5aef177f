import { CREDENTIAL_PARAMS, readClientCredentials } from "../../core/client-auth/client-authenticators.js";
import { OAuthError } from "../../core/errors.js";
import { formDecode } from "../../core/form-decode.js";
import { quoted } from "../../core/quoted.js";
import type { ClientCredentials, TokenRequest } from "../../core/token-request.js";

const MALFORMED_BODY = "The form body has a malformed percent escape or one that is not UTF-8";

// RFC 6749 §3.2 / RFC 8707: parameters that may legitimately repeat.
const REPEATABLE = new Set(["audience", "resource"]);

/**
 * Parses an application/x-www-form-urlencoded body (WHATWG URL §5.1, but strict: a malformed
 * percent escape or one that is not UTF-8 is refused rather than replaced), refusing repeated
 * single-valued parameters (RFC 6749 §3.2).
 */
export function parseForm(body: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  // One pass with indexOf rather than split(): this runs on every token request.
  for (let start = 0; start < body.length; ) {
    let end = body.indexOf("&", start);
    if (end < 0) end = body.length;
    if (end > start) {
      const eq = body.indexOf("=", start);
      const hasValue = eq >= 0 && eq < end;
      const k = formDecode(body.slice(start, hasValue ? eq : end), MALFORMED_BODY);
      const v = hasValue ? formDecode(body.slice(eq + 1, end), MALFORMED_BODY) : "";
      const list = out.get(k);
      if (list) {
        if (!REPEATABLE.has(k)) {
          throw new OAuthError("invalid_request", `The parameter ${quoted(k)} is included more than once (RFC 6749 section 3.2)`);
        }
        list.push(v);
      } else {
        out.set(k, [v]);
      }
    }
    start = end + 1;
  }
  return out;
}

/** Parameters sent without a value are treated as omitted (RFC 6749 §3.2). */
function single(form: Map<string, string[]>, name: string): string | undefined {
  const v = form.get(name)?.[0];
  return v === "" ? undefined : v;
}

/**
 * Client authentication shared by the token, revocation and introspection endpoints
 * (RFC 6749 §2.3.1): one method per request, never in the query string.
 */
export function parseClientCredentials(
  authorization: string | undefined,
  query: string,
  form: Map<string, string[]>,
): ClientCredentials | undefined {
  if (query !== "") {
    for (const name of new URLSearchParams(query).keys()) {
      if (CREDENTIAL_PARAMS.has(name)) {
        throw new OAuthError("invalid_request", "Client credentials must not be sent in the query string (RFC 6749 section 2.3.1)");
      }
    }
  }
  return readClientCredentials(authorization, form, single);
}

/**
 * Turns a token endpoint request (Authorization header, query, form) into the core's
 * TokenRequest, enforcing the RFC 6749 request rules on the way.
 */
export function parseTokenRequest(authorization: string | undefined, query: string, body: string): TokenRequest {
  const form = parseForm(body);
  const credentials = parseClientCredentials(authorization, query, form);
  const grantType = single(form, "grant_type");
  if (grantType === undefined) throw new OAuthError("invalid_request", "The grant_type parameter is missing");
  if (grantType !== "client_credentials") {
    throw new OAuthError("unsupported_grant_type", "Only the client_credentials grant type is supported");
  }
  return {
    credentials,
    scope: single(form, "scope"),
    audiences: audiences(form),
  };
}

/** RFC 8707 resource and our audience parameter, empty values dropped. */
function audiences(form: Map<string, string[]>): string[] {
  const a = form.get("audience");
  const r = form.get("resource");
  if (a === undefined && r === undefined) return [];
  return [...(a ?? []), ...(r ?? [])].filter((x) => x !== "");
}

/** A revocation (RFC 7009 §2.1) or introspection (RFC 7662 §2.1) request. */
export interface TokenOperationRequest {
  credentials: ClientCredentials | undefined;
  token: string | undefined;
}

/** Parses the form of /oauth/revoke and /oauth/introspect. */
export function parseTokenOperation(authorization: string | undefined, query: string, body: string): TokenOperationRequest {
  const form = parseForm(body);
  return { credentials: parseClientCredentials(authorization, query, form), token: single(form, "token") };
}
