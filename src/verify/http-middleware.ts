import type { IncomingMessage, ServerResponse } from "node:http";
import { bearerToken } from "./bearer-credentials.js";
import { bearerChallenge } from "./challenge.js";
import { BEARER_STATUS, BearerTokenError, KeySetUnavailableError, retryAfterSeconds } from "./errors.js";
import { type AccessTokenVerifier, createVerifier, type VerifierOptions } from "./verifier.js";
import type { AccessTokenClaims } from "./verify-access-token.js";

/** How a route is protected: the verifier settings plus what this route needs. */
export interface ProtectOptions extends VerifierOptions {
  /** Scopes every request must carry. */
  scopes?: readonly string[] | undefined;
  /** The realm in WWW-Authenticate. Default: the (first) audience. */
  realm?: string | undefined;
  /** A verifier to share between routes (one JWKS cache); by default each middleware has its own. */
  verifier?: AccessTokenVerifier | undefined;
  /** Told about failures that are not the caller's (keys unavailable, bugs); log them here. */
  onError?: ((err: unknown) => void) | undefined;
}

/** A request that passed the middleware: `auth` holds the verified token's claims. */
export type AuthenticatedRequest = IncomingMessage & { auth: AccessTokenClaims };

/** An Express-style middleware: answers refusals itself, calls next() with `req.auth` set, or next(err) for bugs. */
export type AccessTokenMiddleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/**
 * Middleware for node:http and Express-style servers that lets a request through only with a
 * valid access token carrying `scopes`. Refusals follow RFC 6750 §3: 401 with
 * `WWW-Authenticate: Bearer realm=...` (plus error="invalid_token" when a token was sent),
 * 400 invalid_request, 403 insufficient_scope with the scope needed. 503 with Retry-After
 * when the issuer's keys cannot be fetched.
 */
export function requireAccessToken(options: ProtectOptions): AccessTokenMiddleware {
  const verify = options.verifier ?? createVerifier(options);
  const realm = options.realm ?? (typeof options.audience === "string" ? options.audience : (options.audience[0] ?? options.issuer));
  const scopes = options.scopes ?? [];
  return (req, res, next) => {
    let token: string;
    try {
      token = bearerToken(req.headers.authorization, req.url);
    } catch (err) {
      return refuse(res, err as BearerTokenError, realm);
    }
    verify(token, scopes).then(
      (claims) => {
        Object.assign(req, { auth: claims });
        next();
      },
      (err: unknown) => {
        if (err instanceof BearerTokenError) return refuse(res, err, realm);
        options.onError?.(err);
        if (err instanceof KeySetUnavailableError) {
          // RFC 9110 §10.2.3: tell the caller when the keys will next be fetched.
          const headers: Record<string, string> =
            err.retryAfterMs === undefined ? {} : { "retry-after": String(retryAfterSeconds(err.retryAfterMs)) };
          return send(
            res,
            503,
            { error: "temporarily_unavailable", error_description: "The token issuer's keys are unavailable; retry later" },
            headers,
          );
        }
        next(err);
      },
    );
  };
}

/**
 * Wraps a node:http handler so it runs only for requests with a valid token; the handler
 * gets `req.auth`. Unexpected errors (thrown or rejected) become a 500 and go to onError.
 */
export function protect(
  options: ProtectOptions,
  handler: (req: AuthenticatedRequest, res: ServerResponse) => void | Promise<void>,
): (req: IncomingMessage, res: ServerResponse) => void {
  const guard = requireAccessToken(options);
  const fail = (res: ServerResponse, err: unknown) => {
    options.onError?.(err);
    if (!res.headersSent) send(res, 500, { error: "server_error", error_description: "The server could not handle the request" });
    else res.destroy();
  };
  return (req, res) =>
    guard(req, res, (err) => {
      if (err !== undefined) return fail(res, err);
      Promise.resolve()
        .then(() => handler(req as AuthenticatedRequest, res))
        .catch((e: unknown) => fail(res, e));
    });
}

function refuse(res: ServerResponse, err: BearerTokenError, realm: string): void {
  const body = { error: err.code === "missing_token" ? undefined : err.code, error_description: err.message };
  send(res, BEARER_STATUS[err.code], body, { "www-authenticate": bearerChallenge(err, realm) });
}

function send(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...headers,
  });
  res.end(text);
}
