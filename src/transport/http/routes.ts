import type { IncomingMessage } from "node:http";
import http2, { type Http2ServerRequest } from "node:http2";
import { OAuthError } from "../../core/errors.js";
import { introspectToken, type IntrospectDeps } from "../../core/introspect-token.js";
import { issueToken, type IssueTokenDeps } from "../../core/issue-token.js";
import { revokeToken } from "../../core/revoke-token.js";
import { authorizationServerMetadata } from "./metadata.js";
import { BodyTooLargeError, readBody } from "./body.js";
import { sendError, sendJson, type AnyResponse } from "./respond.js";
import { parseTokenOperation, parseTokenRequest } from "./token-request-parser.js";

/** What the plain HTTP endpoints need. */
export interface HttpRoutesDeps extends IssueTokenDeps, IntrospectDeps {
  /** Algorithms of the published signing keys, for the metadata document. */
  signingAlgs: () => string[];
  /** How long verifiers may cache the JWKS, seconds. */
  jwksMaxAgeSeconds: number;
  /** Reports unexpected errors (logged, never sent). */
  onUnexpected: (err: unknown) => void;
  /** Largest accepted request body, bytes. */
  maxBodyBytes: number;
}

type AnyRequest = IncomingMessage | Http2ServerRequest;
type Route = (req: AnyRequest, res: AnyResponse, query: string) => Promise<void> | void;
type FormHandler = (authorization: string | undefined, query: string, body: string) => Promise<unknown>;

const FORM = /^application\/x-www-form-urlencoded\s*(;|$)/i;

/**
 * The OAuth form endpoints (token, revoke, introspect) and the .well-known documents. Returns
 * a handler that answers the paths it owns and returns false for everything else (left to the
 * RPC router).
 */
export function createHttpRoutes(deps: HttpRoutesDeps): (req: AnyRequest, res: AnyResponse) => boolean {
  const realm = deps.issuer;

  /** A POST endpoint with a form body and an OAuth JSON answer; `status` for success. */
  const formEndpoint =
    (handle: FormHandler, status = 200): Route =>
    async (req, res, query) => {
      try {
        const type = req.headers["content-type"];
        if (type === undefined || !FORM.test(type)) {
          throw new OAuthError("invalid_request", "The request body must be application/x-www-form-urlencoded");
        }
        let body: Buffer;
        try {
          body = await readBody(req, deps.maxBodyBytes);
        } catch (err) {
          if (err instanceof BodyTooLargeError) {
            // Stop the client sending the rest: close the HTTP/1.1 connection, or the HTTP/2
            // stream once the answer is out (RFC 9113 §8.1 allows RST_STREAM(NO_ERROR)).
            if (req.httpVersionMajor === 1) res.setHeader("connection", "close");
            else res.on("finish", () => (req as Http2ServerRequest).stream.close(http2.constants.NGHTTP2_NO_ERROR));
            return sendError(res, new OAuthError("invalid_request", `The request body is larger than ${deps.maxBodyBytes} bytes`), realm, deps.onUnexpected, 413);
          }
          throw err;
        }
        sendJson(res, status, await handle(req.headers.authorization, query, body.toString("utf8")));
      } catch (err) {
        sendError(res, err, realm, deps.onUnexpected);
      }
    };

  const publicJson = (body: () => unknown, maxAge: number): Route => (_req, res) =>
    sendJson(res, 200, body(), { "cache-control": `public, max-age=${maxAge}` });

  const routes: Record<string, { methods: string[]; handle: Route }> = {
    "/oauth/token": {
      methods: ["POST"],
      handle: formEndpoint((auth, query, body) => issueToken(deps, parseTokenRequest(auth, query, body))),
    },
    "/oauth/revoke": {
      methods: ["POST"],
      handle: formEndpoint(async (auth, query, body) => {
        const r = parseTokenOperation(auth, query, body);
        await revokeToken(deps, r.credentials, r.token);
        return {};
      }),
    },
    "/oauth/introspect": {
      methods: ["POST"],
      handle: formEndpoint((auth, query, body) => {
        const r = parseTokenOperation(auth, query, body);
        return introspectToken(deps, r.credentials, r.token);
      }),
    },
    // The next key is published at least one max-age before it signs (keys/key-lifecycle.ts).
    "/.well-known/jwks.json": { methods: ["GET", "HEAD"], handle: publicJson(deps.jwks, deps.jwksMaxAgeSeconds) },
    "/.well-known/oauth-authorization-server": {
      methods: ["GET", "HEAD"],
      handle: publicJson(() => authorizationServerMetadata(deps.issuer, deps.signingAlgs()), 300),
    },
  };

  return (req, res) => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    const route = routes[path];
    if (!route) return false;
    if (!route.methods.includes(req.method ?? "")) {
      req.resume();
      sendJson(
        res,
        405,
        { error: "invalid_request", error_description: `Method ${req.method} is not allowed; use ${route.methods.join(" or ")}` },
        { allow: route.methods.join(", ") },
      );
      return true;
    }
    void route.handle(req, res, q < 0 ? "" : url.slice(q + 1));
    return true;
  };
}
