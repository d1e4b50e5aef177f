import { ClientAssertion, JWT_BEARER_ASSERTION_TYPE } from "./client-assertion.js";
import type { ClientAuthentication } from "./client-authentication.js";
import { TokenError } from "./errors.js";
import { parseRetryAfter } from "./retry-after.js";
import { redactUrlCredentials, refuseUrlCredentials } from "./server-url.js";
import { basicAuthorization, type GrantRequest, type IssuedToken, type TokenEndpoint } from "./token-endpoint.js";

export { parseRetryAfter } from "./retry-after.js";

/** Options for the HTTP token endpoint. */
export interface HttpTokenEndpointOptions {
  /** The token endpoint URL, e.g. http://localhost:8080/oauth/token. */
  tokenUrl: string;
  /** A fetch implementation; the global one by default. */
  fetch?: typeof fetch | undefined;
  /** Clock for Retry-After dates; Date.now by default. */
  now?: (() => number) | undefined;
}

/**
 * The form-encoded `POST /oauth/token` (RFC 6749 §4.4.2), authenticating with
 * client_secret_basic, or with an assertion in the form (RFC 7523 §2.2); a URL with
 * credentials in it is refused. A redirect is not followed: a token endpoint does not move,
 * and following one would send the credentials elsewhere.
 */
export function httpTokenEndpoint(options: HttpTokenEndpointOptions): TokenEndpoint {
  refuseUrlCredentials(options.tokenUrl, "tokenUrl");
  const doFetch = options.fetch ?? fetch;
  const target = options.tokenUrl;
  const now = options.now ?? Date.now;
  return {
    transport: "http",
    target,
    async issue(credentials: ClientAuthentication, request: GrantRequest, signal: AbortSignal): Promise<IssuedToken> {
      const form = new URLSearchParams({ grant_type: "client_credentials" });
      if (request.scope) form.set("scope", request.scope);
      for (const a of request.audiences) form.append("audience", a);
      const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", accept: "application/json" };
      if (credentials instanceof ClientAssertion) {
        form.set("client_id", credentials.clientId);
        form.set("client_assertion_type", JWT_BEARER_ASSERTION_TYPE);
        form.set("client_assertion", credentials.revealAssertion());
      } else {
        headers.authorization = basicAuthorization(credentials);
      }
      let res: Response;
      let body: unknown;
      try {
        res = await doFetch(target, { method: "POST", headers, body: form, redirect: "manual", signal });
        body = await res.json().catch(() => undefined);
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        // undici says "fetch failed" and puts the useful part (ECONNREFUSED ...) in the cause.
        const cause = (err as Error).cause as Error | undefined;
        const why = cause?.message ?? (err as Error).message;
        throw new TokenError("network_error", credentials.redact(why), { target, cause: err });
      }
      if (res.ok) return parseTokenResponse(body, target);
      throw errorFromResponse(res, body, target, credentials, now());
    },
  };
}

/** RFC 6749 §5.1: a Bearer token with a lifetime; anything else is not usable. */
function parseTokenResponse(body: unknown, target: string): IssuedToken {
  const b = (body ?? {}) as Record<string, unknown>;
  if (typeof b.access_token !== "string" || b.access_token === "") {
    throw new TokenError("invalid_response", "no access_token in a 200 answer", { target });
  }
  if (typeof b.token_type !== "string" || b.token_type.toLowerCase() !== "bearer") {
    throw new TokenError("invalid_response", `token_type is ${JSON.stringify(b.token_type)}, not Bearer`, { target });
  }
  if (typeof b.expires_in !== "number" || !(b.expires_in > 0)) {
    throw new TokenError("invalid_response", "expires_in is missing or not a positive number", { target });
  }
  return { accessToken: b.access_token, expiresIn: b.expires_in, scope: typeof b.scope === "string" ? b.scope : undefined };
}

/** RFC 6749 §5.2 errors keep their code; bare 5xx and 429 (proxies, load balancers) get one. */
function errorFromResponse(res: Response, body: unknown, target: string, credentials: ClientAuthentication, now: number): TokenError {
  const b = (body ?? {}) as Record<string, unknown>;
  const location = res.headers.get("location");
  if (res.status >= 300 && res.status < 400 && location !== null) {
    const to = URL.canParse(location, target) ? new URL(location, target).href : location;
    return new TokenError(
      "invalid_response",
      `HTTP ${res.status} redirect to ${redactUrlCredentials(to)}, not followed; give the server address it redirects to`,
      { target, status: res.status },
    );
  }
  let code: string;
  if (typeof b.error === "string" && b.error !== "") code = b.error;
  else if (res.status === 429 || res.status === 503) code = "temporarily_unavailable";
  else if (res.status >= 500) code = "server_error";
  else code = "invalid_response";
  const description = typeof b.error_description === "string" ? b.error_description : `HTTP ${res.status}`;
  return new TokenError(code, credentials.redact(description), {
    target,
    status: res.status,
    retryAfterMs: parseRetryAfter(res.headers.get("retry-after"), now),
  });
}
