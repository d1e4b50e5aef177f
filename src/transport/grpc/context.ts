import { createContextKey, type HandlerContext } from "@connectrpc/connect";

/** The caller's network address (after trusted proxies), set for every RPC by the server. */
export const originKey = createContextKey<string | undefined>(undefined, { description: "caller address" });

/** The connection an RPC arrived on (its HTTP/2 session or HTTP/1.1 socket), for per-connection limits. */
export const connectionKey = createContextKey<object | undefined>(undefined, { description: "connection" });

/** The caller address of an RPC. */
export function originOf(ctx: HandlerContext): string | undefined {
  return ctx.values.get(originKey);
}
