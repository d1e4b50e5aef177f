import { type Client, Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { ClientAdmin } from "../../gen/tessera/v1/client_admin_pb.js";
import { KeyAdmin } from "../../gen/tessera/v1/key_admin_pb.js";
import { expired, type Session } from "./session.js";

/** The admin API as the console uses it: ClientAdmin and KeyAdmin over Connect, same origin. */
export interface Api {
  clients: Client<typeof ClientAdmin>;
  keys: Client<typeof KeyAdmin>;
}

/** Why a session ended while it was in use. */
export type SessionEnd = "expired" | "refused";

/**
 * Clients of the admin services that send the session's token on every call. A call made
 * after the token expired is not sent; a call the server refuses as unauthenticated (token
 * expired, revoked or cut off) ends the session, and the console asks for credentials again.
 */
export function createApi(session: Session, onEnd: (why: SessionEnd) => void): Api {
  const bearer: Interceptor = (next) => async (req) => {
    if (expired(session)) {
      onEnd("expired");
      throw new ConnectError("the access token has expired", Code.Unauthenticated);
    }
    req.header.set("authorization", `Bearer ${session.token}`);
    try {
      return await next(req);
    } catch (err) {
      if (err instanceof ConnectError && err.code === Code.Unauthenticated) onEnd(expired(session) ? "expired" : "refused");
      throw err;
    }
  };
  const transport = createConnectTransport({
    baseUrl: window.location.origin,
    interceptors: [bearer],
    // Same origin only; never send cookies (Tessera sets none) with admin calls.
    fetch: (input, init) => fetch(input, { ...init, credentials: "omit", cache: "no-store" }),
  });
  return { clients: createClient(ClientAdmin, transport), keys: createClient(KeyAdmin, transport) };
}
