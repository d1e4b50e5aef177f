import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { type ConsoleBuild, type ConsoleFile, readConsoleBuild } from "./console-files.js";
import type { AnyResponse } from "./respond.js";

/** The console's address on the server; its files are under /console/assets/. */
export const CONSOLE_PATH = "/console";
const ASSETS = "/console/assets/";

/**
 * The page may load scripts, styles, images and fonts from this server only, call only this
 * server, never run inline script or style, never be framed, never set a <base>, and submit
 * forms only here. It has no use for plugins, nor for writing HTML from strings.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  // DOM sinks such as innerHTML refuse strings: the console never builds HTML from text.
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join("; ");

/** Headers on every answer under /console, files and errors alike. */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": CONSOLE_CSP,
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  // For browsers without CSP frame-ancestors.
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
};
// index.html is checked each time (its asset names change with every build); assets are named
// after a hash of their content, so they never change and may be kept for a year.
const INDEX_CACHE = "no-cache";
const ASSET_CACHE = "public, max-age=31536000, immutable";

/** The sentence a server without a built console answers with. */
export const NOT_BUILT =
  "The Tessera console is not built. Run `npm run build` in Tessera's folder (npm ci and npm install do it), then restart the server.\n";

type AnyRequest = IncomingMessage | Http2ServerRequest;

/** Whether the client accepts a gzip body (RFC 9110 §12.5.3), `q=0` meaning it does not. */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  for (const part of header.split(",")) {
    const [coding = "", ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    if (coding !== "gzip" && coding !== "x-gzip" && coding !== "*") continue;
    const q = params.find((p) => p.startsWith("q="));
    if (q === undefined || Number(q.slice(2)) > 0) return true;
  }
  return false;
}

function sendText(res: AnyResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    "content-type": "text/plain; charset=utf-8",
    "content-length": String(Buffer.byteLength(text)),
    "cache-control": "no-store",
    ...extra,
  });
  res.end(text);
}

/** Whether If-None-Match names this entity tag (RFC 9110 §13.1.2: weak comparison, or "*"). */
function ifNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(",").some((t) => {
    const tag = t.trim().replace(/^W\//, "");
    return tag === "*" || tag === etag;
  });
}

function sendFile(req: AnyRequest, res: AnyResponse, file: ConsoleFile, cacheControl: string): void {
  const gzipped = acceptsGzip(req.headers["accept-encoding"]) ? file.gzip : undefined;
  const gzip = gzipped !== undefined;
  // The gzipped body is another representation, so it gets its own strong validator.
  const etag = gzip ? `${file.etag.slice(0, -1)}-gz"` : file.etag;
  const headers: Record<string, string> = {
    ...SECURITY_HEADERS,
    "content-type": file.contentType,
    "cache-control": cacheControl,
    etag,
    vary: "accept-encoding",
  };
  if (ifNoneMatch(req.headers["if-none-match"], etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const body = gzipped ?? file.body;
  if (gzip) headers["content-encoding"] = "gzip";
  headers["content-length"] = String(body.length);
  res.writeHead(200, headers);
  res.end(req.method === "HEAD" ? undefined : body);
}

/**
 * Serves the built console from `dir`: index.html at /console and /console/, the hashed files
 * at /console/assets/NAME, nothing else. Files are read once into memory, on the first request
 * after the console is built; names are looked up as given, never joined to a path, so no
 * request can reach a file outside the build. Without a build, every path answers 404 with
 * how to build it.
 */
export function createConsoleRoute(dir: string | undefined): (req: AnyRequest, res: AnyResponse, path: string) => void {
  let build: ConsoleBuild | undefined;
  return (req, res, path) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      req.resume();
      return sendText(res, 405, `Method ${req.method} is not allowed here; use GET or HEAD.\n`, { allow: "GET, HEAD" });
    }
    build ??= dir === undefined ? undefined : readConsoleBuild(dir);
    if (build === undefined) return sendText(res, 404, NOT_BUILT);
    if (path === CONSOLE_PATH || path === `${CONSOLE_PATH}/`) return sendFile(req, res, build.index, INDEX_CACHE);
    const asset = path.startsWith(ASSETS) ? build.assets.get(path.slice(ASSETS.length)) : undefined;
    if (asset === undefined) return sendText(res, 404, "The console has no such file.\n");
    sendFile(req, res, asset, ASSET_CACHE);
  };
}
