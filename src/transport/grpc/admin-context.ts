import { createContextKey, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import { type AdminAuthDeps, type AdminPrincipal, authorizeAdmin } from "../../core/admin-auth.js";
import type { Actor } from "../../core/client-admin.js";
import { originOf } from "./context.js";

/** The authenticated admin, set by the admin interceptor for the handlers. */
export const adminPrincipalKey = createContextKey<AdminPrincipal | undefined>(undefined, {
  description: "authenticated ClientAdmin caller",
});

/** Requires `authorization: Bearer <token with tessera:admin>` on every admin call (ClientAdmin, KeyAdmin). */
export function adminAuthInterceptor(deps: AdminAuthDeps): Interceptor {
  return (next) => async (req) => {
    const header = req.header.get("authorization") ?? "";
    const m = /^bearer +(\S+)\s*$/i.exec(header);
    req.contextValues.set(adminPrincipalKey, await authorizeAdmin(deps, m?.[1]));
    return next(req);
  };
}

/** The admin making a change and where from, for the audit trail. */
export function actorOf(ctx: HandlerContext): Actor {
  return { actor: ctx.values.get(adminPrincipalKey)?.clientId ?? "unknown", origin: originOf(ctx) ?? "unknown" };
}
