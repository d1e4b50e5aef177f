import { createContextKey, type HandlerContext } from "@connectrpc/connect";

/** The caller's network address (after trusted proxies), set for every RPC by the server. */
export const originKey = createContextKey<string | undefined>(undefined, { description: "caller address" });

/** The connection an RPC arrived on (its HTTP/2 session or HTTP/1.1 socket), for per-connection limits. */
export const connectionKey = createContextKey<object | undefined>(undefined, { description: "connection" });

/**
 * Set on a unary call once its implementation has returned the response: if the call still
 * fails INTERNAL, sending that response failed (serialising it), a fault of ours and never the
 * caller's.
 */
export const implementationAnsweredKey = createContextKey<boolean>(false, { description: "implementation answered" });

/** The caller address of an RPC. */
export function originOf(ctx: HandlerContext): string | undefined {
  return ctx.values.get(originKey);
}
