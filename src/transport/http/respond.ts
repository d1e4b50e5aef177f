import { challengeScheme } from "../../core/client-auth/client-authenticators.js";
import { OAuthError } from "../../core/errors.js";
import { StorageUnavailableError } from "../../core/ports/storage.js";

/** The part of a node:http or node:http2 (compatibility API) response we use. */
export interface AnyResponse {
  readonly headersSent: boolean;
  writeHead(status: number, headers: Record<string, string | number>): unknown;
  setHeader(name: string, value: string): unknown;
  on(event: "finish", listener: () => void): unknown;
  end(body?: string | Uint8Array): unknown;
}

/** Status for each OAuth error code (RFC 6749 §5.2). */
const STATUS: Record<OAuthError["code"], number> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  invalid_target: 400,
  // RFC 6750 §3.1: a known caller without the needed scope.
  insufficient_scope: 403,
  // RFC 6585 §4 with Retry-After: a rate limit or a throttled client id.
  temporarily_unavailable: 429,
  server_error: 500,
};

// RFC 6749 §5.1: token endpoint answers must never be cached.
const NO_STORE = { "cache-control": "no-store", pragma: "no-cache" };
const JSON_TYPE = "application/json;charset=UTF-8";

/**
 * Writes a JSON body. Unless `headers` sets its own cache-control (public documents such as
 * the JWKS do), the answer carries the no-store headers every OAuth endpoint needs.
 */
export function sendJson(res: AnyResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  const text = JSON.stringify(body);
  const length = Buffer.byteLength(text);
  if (headers === undefined) {
    // The common case (every token answer): one fixed-shape object, nothing merged.
    res.writeHead(status, { "content-type": JSON_TYPE, "content-length": length, "cache-control": "no-store", pragma: "no-cache" });
  } else {
    res.writeHead(status, {
      "content-type": JSON_TYPE,
      "content-length": length,
      ...("cache-control" in headers ? {} : NO_STORE),
      ...headers,
    });
  }
  res.end(text);
}

/** The answer to a path nothing on this port serves. */
export function sendNotFound(res: AnyResponse): void {
  sendJson(res, 404, { error: "not_found", error_description: "No such endpoint" });
}

/**
 * The one place an error becomes an HTTP answer. OAuthErrors keep their code; anything else is
 * a server_error whose cause is reported through `onUnexpected`, never sent.
 */
export function sendError(res: AnyResponse, err: unknown, realm: string, onUnexpected: (err: unknown) => void, status?: number): void {
  if (err instanceof StorageUnavailableError) {
    // The database cannot be reached, or written (disk full, a lock): retryable, not a server bug.
    err = new OAuthError("temporarily_unavailable", "The database is unavailable right now; retry later", undefined, 5);
    status ??= 503;
  } else if (!(err instanceof OAuthError)) {
    onUnexpected(err);
    err = new OAuthError("server_error", "The server could not handle the request");
  }
  const e = err as OAuthError;
  const headers: Record<string, string> = {};
  if (e.retryAfterSeconds !== undefined) headers["retry-after"] = String(e.retryAfterSeconds);
  // RFC 6749 §5.2: 401 with a matching WWW-Authenticate when the client used the header.
  const scheme = e.code === "invalid_client" ? challengeScheme(e.authMethod) : undefined;
  if (scheme !== undefined) headers["www-authenticate"] = `${scheme} realm="${realm}", charset="UTF-8"`;
  // RFC 7009 §2.2.1: a revocation the server will not take now is 503 with Retry-After; the
  // client must assume the token still exists and retry later.
  sendJson(res, status ?? (e.limit === "revocations" ? 503 : STATUS[e.code]), { error: e.code, error_description: e.description }, headers);
}
