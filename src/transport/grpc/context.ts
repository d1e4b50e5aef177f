import { createContextKey, type HandlerContext } from "@connectrpc/connect";

/** The caller's network address (after trusted proxies), set for every RPC by the server. */
export const originKey = createContextKey<string | undefined>(undefined, { description: "caller address" });

/** The caller address of an RPC. */
export function originOf(ctx: HandlerContext): string | undefined {
  return ctx.values.get(originKey);
}
