import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { TokenOptions, TokenSource } from "./token-source.js";

/**
 * A Connect/gRPC client interceptor that sends `authorization: Bearer <token>` on every call.
 * A unary call answered UNAUTHENTICATED is retried once with a fresh token, like
 * authorizedFetch's 401; streaming calls are not, since their input may be gone.
 */
export function bearerInterceptor(tokens: TokenSource, options: Omit<TokenOptions, "signal"> = {}): Interceptor {
  return (next) => async (req) => {
    const token = await tokens.getToken({ ...options, signal: req.signal });
    req.header.set("authorization", `Bearer ${token}`);
    try {
      return await next(req);
    } catch (err) {
      if (req.stream || ConnectError.from(err).code !== Code.Unauthenticated) throw err;
      tokens.invalidate(token);
      req.header.set("authorization", `Bearer ${await tokens.getToken({ ...options, signal: req.signal })}`);
      return await next(req);
    }
  };
}
