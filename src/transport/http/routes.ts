import type { IncomingMessage } from "node:http";
import http2, { type Http2ServerRequest } from "node:http2";
import { OAuthError } from "../../core/errors.js";
import { introspectToken, type IntrospectDeps } from "../../core/introspect-token.js";
import { issueToken, type IssueTokenDeps } from "../../core/issue-token.js";
import { revokeToken } from "../../core/revoke-token.js";
import type { ReadinessReport } from "../../observability/readiness.js";
import type { RequestObserver } from "../../observability/request-observer.js";
import { clientAddress } from "../origin.js";
import { CONSOLE_PATH, createConsoleRoute } from "./console-route.js";
import { authorizationServerMetadata } from "./metadata.js";
import { BodyTooLargeError, ClientAbortedError, readBody } from "./body.js";
import { sendError, sendJson, type AnyResponse } from "./respond.js";
import { parseTokenOperation, parseTokenRequest } from "./token-request-parser.js";

/** What the plain HTTP endpoints need. */
export interface HttpRoutesDeps extends IssueTokenDeps, IntrospectDeps {
  observer: RequestObserver;
  /** Readiness checks for GET /readyz; absent: no such route. */
  readiness?: () => Promise<ReadinessReport>;
  /** Prometheus exposition for GET /metrics; absent: no such route. */
  scrapeMetrics?: () => Promise<{ contentType: string; body: string }>;
  /** Proxies whose X-Forwarded-For is believed. */
  trustedProxies: ReadonlySet<string>;
  /** Algorithms of the published signing keys, for the metadata document. */
  signingAlgs: () => string[];
  /** How long verifiers may cache the JWKS, seconds. */
  jwksMaxAgeSeconds: number;
  /** Reports unexpected errors (logged, never sent). */
  onUnexpected: (err: unknown) => void;
  /** Largest accepted request body, bytes. */
  maxBodyBytes: number;
  /** The built web console (dist/console); absent: /console says how to build it. */
  consoleDir?: string | undefined;
}

type AnyRequest = IncomingMessage | Http2ServerRequest;
type Route = (req: AnyRequest, res: AnyResponse, query: string) => Promise<void> | void;
/** A parsed form request; handlers note the client id and scope they saw, for the log line. */
interface FormRequest {
  authorization: string | undefined;
  query: string;
  body: string;
  origin: string | undefined;
  seen: { clientId?: string | undefined; scope?: string | undefined };
}
type FormHandler = (r: FormRequest) => Promise<unknown>;

const FORM = /^application\/x-www-form-urlencoded\s*(;|$)/i;
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Refuses what a form endpoint cannot read unambiguously: Node keeps only the first of repeated
 * headers, so a second Authorization or Content-Type is refused rather than half-read; and
 * the body must be a form.
 */
function checkFormHeaders(req: AnyRequest): OAuthError | undefined {
  const raw = req.rawHeaders;
  let authorizations = 0;
  let types = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // Only names of the right length are lower-cased: one pass, almost no work per header.
    if (name.length === 13 && name.toLowerCase() === "authorization") authorizations++;
    else if (name.length === 12 && name.toLowerCase() === "content-type") types++;
  }
  if (authorizations > 1) return new OAuthError("invalid_request", "The authorization header is sent more than once");
  if (types > 1) return new OAuthError("invalid_request", "The content-type header is sent more than once");
  const type = req.headers["content-type"];
  if (type === undefined || !FORM.test(type)) {
    return new OAuthError("invalid_request", "The request body must be application/x-www-form-urlencoded");
  }
  return undefined;
}

/**
 * The OAuth form endpoints (token, revoke, introspect) and the .well-known documents. Returns
 * a handler that answers the paths it owns and returns false for everything else (left to the
 * RPC router).
 */
export function createHttpRoutes(deps: HttpRoutesDeps): (req: AnyRequest, res: AnyResponse) => boolean {
  const realm = deps.issuer;

  /**
   * A POST endpoint with a form body and an OAuth JSON answer, observed (logs, metrics).
   * Callbacks rather than awaits up to the core: this is the hot path of every token.
   */
  const formEndpoint =
    (endpoint: "token" | "revoke" | "introspect", handle: FormHandler): Route =>
    (req, res, query) => {
      const started = performance.now();
      const origin = clientAddress(req.socket.remoteAddress, req.headers["x-forwarded-for"], deps.trustedProxies);
      const seen: FormRequest["seen"] = {};
      const finish = (error: unknown, answer?: unknown, status?: number) => {
        // A client that went away mid-body gets no answer and is no server fault.
        const aborted = error instanceof ClientAbortedError;
        // headersSent: the request timeout has answered already (stream-deadlines.ts).
        if (!aborted && !res.headersSent) {
          if (error === undefined) sendJson(res, 200, answer);
          else sendError(res, error, realm, deps.onUnexpected, status);
        }
        deps.observer.tokenRequest({
          transport: "http",
          endpoint,
          clientId: seen.clientId,
          scope: seen.scope,
          origin,
          error: aborted ? undefined : error,
          aborted,
          durationMs: performance.now() - started,
        });
      };
      const refused = checkFormHeaders(req);
      if (refused) {
        req.resume();
        return finish(refused);
      }
      readBody(req, deps.maxBodyBytes, (err, body) => {
        if (err) {
          if (!(err instanceof BodyTooLargeError)) return finish(err);
          // Stop the client sending the rest: close the HTTP/1.1 connection, or the HTTP/2
          // stream once the answer is out (RFC 9113 §8.1 allows RST_STREAM(NO_ERROR)).
          if (req.httpVersionMajor === 1) res.setHeader("connection", "close");
          else res.on("finish", () => (req as Http2ServerRequest).stream.close(http2.constants.NGHTTP2_NO_ERROR));
          return finish(new OAuthError("invalid_request", `The request body is larger than ${deps.maxBodyBytes} bytes`), undefined, 413);
        }
        let text: string;
        try {
          text = STRICT_UTF8.decode(body);
        } catch {
          return finish(new OAuthError("invalid_request", "The request body is not valid UTF-8"));
        }
        let pending: Promise<unknown>;
        try {
          pending = handle({ authorization: req.headers.authorization, query, body: text, origin, seen });
        } catch (e) {
          return finish(e);
        }
        pending.then(
          (answer) => finish(undefined, answer),
          (e: unknown) => finish(e),
        );
      });
    };

  const publicJson = (body: () => unknown, maxAge: number): Route => (_req, res) =>
    sendJson(res, 200, body(), { "cache-control": `public, max-age=${maxAge}` });

  const routes: Record<string, { methods: string[]; handle: Route }> = {
    "/oauth/token": {
      methods: ["POST"],
      handle: formEndpoint("token", (r) => {
        const request = parseTokenRequest(r.authorization, r.query, r.body);
        request.origin = r.origin;
        r.seen.clientId = request.credentials?.clientId;
        r.seen.scope = request.scope;
        return issueToken(deps, request);
      }),
    },
    "/oauth/revoke": {
      methods: ["POST"],
      handle: formEndpoint("revoke", async (r) => {
        const op = parseTokenOperation(r.authorization, r.query, r.body);
        r.seen.clientId = op.credentials?.clientId;
        await revokeToken(deps, op.credentials, op.token, r.origin);
        return {};
      }),
    },
    "/oauth/introspect": {
      methods: ["POST"],
      handle: formEndpoint("introspect", (r) => {
        const op = parseTokenOperation(r.authorization, r.query, r.body);
        r.seen.clientId = op.credentials?.clientId;
        return introspectToken(deps, op.credentials, op.token, r.origin);
      }),
    },
    // The next key is published at least one max-age before it signs (keys/key-lifecycle.ts).
    "/.well-known/jwks.json": { methods: ["GET", "HEAD"], handle: publicJson(deps.jwks, deps.jwksMaxAgeSeconds) },
    "/.well-known/oauth-authorization-server": {
      methods: ["GET", "HEAD"],
      handle: publicJson(() => authorizationServerMetadata(deps.issuer, deps.signingAlgs()), 300),
    },
  };

  // Probes for orchestrators: liveness is only that the process answers; readiness runs the
  // checks and answers 503 (with which failed) until they pass.
  routes["/healthz"] = { methods: ["GET", "HEAD"], handle: (_req, res) => sendJson(res, 200, { status: "ok" }) };
  if (deps.readiness) {
    const readiness = deps.readiness;
    routes["/readyz"] = {
      methods: ["GET", "HEAD"],
      handle: async (_req, res) => {
        try {
          const report = await readiness();
          sendJson(res, report.status === "ready" ? 200 : 503, report);
        } catch (err) {
          sendError(res, err, realm, deps.onUnexpected);
        }
      },
    };
  }

  if (deps.scrapeMetrics) {
    const scrape = deps.scrapeMetrics;
    routes["/metrics"] = {
      methods: ["GET"],
      handle: async (_req, res) => {
        try {
          const m = await scrape();
          res.writeHead(200, { "content-type": m.contentType, "cache-control": "no-store" });
          res.end(m.body);
        } catch (err) {
          sendError(res, err, realm, deps.onUnexpected);
        }
      },
    };
  }

  const webConsole = createConsoleRoute(deps.consoleDir);

  return (req, res) => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    const route = routes[path];
    if (!route) {
      // After the exact routes, so the token endpoint pays nothing for it.
      if (path !== CONSOLE_PATH && !path.startsWith(`${CONSOLE_PATH}/`)) return false;
      webConsole(req, res, path);
      return true;
    }
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
