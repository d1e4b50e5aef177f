import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { type AnyResponse, sendJson } from "./respond.js";

/** A request on either HTTP version (the HTTP/2 compatibility API). */
export type AnyRequest = IncomingMessage | Http2ServerRequest;

/** Answers one path; `query` is what follows its "?" ("" when none). */
export type Route = (req: AnyRequest, res: AnyResponse, query: string) => Promise<void> | void;

/** Exact paths, the methods each accepts, and its route. */
export type RouteTable = Record<string, { methods: readonly string[]; handle: Route }>;

/** Answers a path the table lacks, or returns false to leave the request to the next handler. */
export type PathFallback = (req: AnyRequest, res: AnyResponse, path: string) => boolean;

/**
 * A handler answering the table's paths (405 with Allow for another method) and returning
 * false for the rest, after `fallback` has had its chance. One lookup per request: the exact
 * paths, the token endpoint among them, come first.
 */
export function dispatch(routes: RouteTable, fallback: PathFallback): (req: AnyRequest, res: AnyResponse) => boolean {
  return (req, res) => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    const route = routes[path];
    if (!route) return fallback(req, res, path);
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
