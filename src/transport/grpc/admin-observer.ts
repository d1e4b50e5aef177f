import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { RequestObserver } from "../../observability/request-observer.js";
import { adminPrincipalKey } from "./admin-context.js";
import { originKey } from "./context.js";

/** Reports every admin call (service, method, status, caller, latency); outermost, so it sees the mapped status. */
export function adminObserverInterceptor(observer: RequestObserver): Interceptor {
  return (next) => async (req) => {
    const started = performance.now();
    let code = "ok";
    try {
      return await next(req);
    } catch (err) {
      code = Code[err instanceof ConnectError ? err.code : Code.Internal] ?? "Unknown";
      throw err;
    } finally {
      observer.adminCall(
        req.service.name,
        req.method.name,
        code,
        performance.now() - started,
        req.contextValues.get(adminPrincipalKey)?.clientId,
        req.contextValues.get(originKey),
      );
    }
  };
}
