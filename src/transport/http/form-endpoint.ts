import http2 from "node:http2";
import { OAuthError } from "../../core/errors.js";
import type { RequestObserver } from "../../observability/request-observer.js";
import { TokenCall, type TokenEndpoint } from "../../observability/token-call.js";
import { clientAddress } from "../origin.js";
import { BodyTooLargeError, ClientAbortedError, readBody } from "./body.js";
import { type AnyResponse, sendError, sendJson } from "./respond.js";
import type { AnyRequest, Route } from "./route-table.js";

/** What a form endpoint needs besides its handler. */
export interface FormEndpointDeps {
  observer: RequestObserver;
  /** Proxies whose X-Forwarded-For is believed. */
  trustedProxies: ReadonlySet<string>;
  /** The realm of WWW-Authenticate challenges: the issuer. */
  issuer: string;
  /** Reports unexpected errors (logged, never sent). */
  onUnexpected: (err: unknown) => void;
  /** Largest accepted request body, bytes. */
  maxBodyBytes: number;
}

/** A form request as its handler sees it. */
interface FormRequest {
  authorization: string | undefined;
  query: string;
  body: string;
  /** The request as it is observed: the handler notes the client id and scope it saw; its origin is the caller's address. */
  call: TokenCall;
}

/** Turns a form request into the endpoint's JSON answer, or throws an OAuthError. */
export type FormHandler = (r: FormRequest) => Promise<unknown>;

const FORM = /^application\/x-www-form-urlencoded\s*(;|$)/i;
// A byte order mark that some tools write before a whole body is dropped; one inside a value
// arrives percent-encoded, is decoded later and kept, and the rules on that value refuse it.
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A POST endpoint with a form body and an OAuth JSON answer, observed (logs, metrics).
 * Callbacks rather than awaits up to the core: this is the hot path of every token.
 */
export function formEndpoint(deps: FormEndpointDeps, endpoint: TokenEndpoint, handle: FormHandler): Route {
  return (req, res, query) => {
    const call = new TokenCall(
      deps.observer,
      "http",
      endpoint,
      clientAddress(req.socket.remoteAddress, req.headers["x-forwarded-for"], deps.trustedProxies),
    );
    const finish = (error: unknown, answer?: unknown, status?: number) => {
      // A client that went away mid-body gets no answer and is no server fault.
      const aborted = error instanceof ClientAbortedError;
      // headersSent: the request timeout has answered already (stream-deadlines.ts).
      if (!aborted && !res.headersSent) {
        if (error === undefined) sendJson(res, 200, answer);
        else sendError(res, error, deps.issuer, deps.onUnexpected, status);
      }
      call.end(error, aborted);
    };
    const refused = checkFormHeaders(req);
    if (refused) {
      req.resume();
      return finish(refused);
    }
    readBody(req, deps.maxBodyBytes, (err, body) => {
      if (err instanceof BodyTooLargeError) return finish(refuseTooLarge(req, res, deps.maxBodyBytes), undefined, 413);
      if (err) return finish(err);
      const text = decodeUtf8(body);
      if (text instanceof OAuthError) return finish(text);
      let pending: Promise<unknown>;
      try {
        pending = handle({ authorization: req.headers.authorization, query, body: text, call });
      } catch (e) {
        return finish(e);
      }
      pending.then(
        (answer) => finish(undefined, answer),
        (e: unknown) => finish(e),
      );
    });
  };
}

/**
 * Refuses what a form endpoint cannot read unambiguously: Node keeps only the first of repeated
 * headers, so a second Authorization or Content-Type is refused rather than half-read; and
 * the body must be a form.
 */
function checkFormHeaders(req: AnyRequest): OAuthError | undefined {
  const raw = req.rawHeaders;
  let authorizations = 0;
  let types = 0;
  // rawHeaders alternates names and values: the even indexes below its length are names.
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    // Only names of the right length are lower-cased: one pass, almost no work per header.
    if (name?.length === 13 && name.toLowerCase() === "authorization") authorizations++;
    else if (name?.length === 12 && name.toLowerCase() === "content-type") types++;
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
 * The 413 answer's error, after making the client stop sending the rest: the HTTP/1.1
 * connection closes after the answer, or the HTTP/2 stream ends once the answer is out (RFC
 * 9113 §8.1 allows RST_STREAM(NO_ERROR)).
 */
function refuseTooLarge(req: AnyRequest, res: AnyResponse, maxBodyBytes: number): OAuthError {
  if (req.httpVersionMajor === 1) res.setHeader("connection", "close");
  else if ("stream" in req) res.on("finish", () => req.stream.close(http2.constants.NGHTTP2_NO_ERROR));
  return new OAuthError("invalid_request", `The request body is larger than ${maxBodyBytes} bytes`);
}

function decodeUtf8(body: Uint8Array): string | OAuthError {
  try {
    return STRICT_UTF8.decode(body);
  } catch {
    return new OAuthError("invalid_request", "The request body is not valid UTF-8");
  }
}
