import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client as RpcClient, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { ClientAdmin } from "../../gen/tessera/v1/client_admin_pb.js";
import { TokenService } from "../../gen/tessera/v1/token_service_pb.js";
import { serverUrlProblem } from "../client/server-url.js";
import { ADMIN_SCOPE } from "../core/admin-auth.js";
import { SERVER_SETTING, ServerUnreachableError, unreachableReason } from "./server-address.js";
import { UsageError } from "./usage.js";

/** A person waits on every admin call: fail within this instead of hanging on a dead address. */
const CALL_TIMEOUT_MS = 30_000;

/** A gRPC transport to `server` (h2c for http://, TLS for https://). */
function grpcTransport(server: string): Transport {
  const problem = serverUrlProblem(server, SERVER_SETTING);
  if (problem !== undefined) throw new UsageError(problem);
  return createGrpcTransport({ baseUrl: server, defaultTimeoutMs: CALL_TIMEOUT_MS });
}

/** The admin credentials were refused; the message names the variables to fix. */
class AdminCredentialsError extends Error {
  override readonly name = "AdminCredentialsError";
}

/**
 * A client for an admin service (ClientAdmin, KeyAdmin) authenticated as the admin client in
 * TESSERA_CLIENT_ID / TESSERA_CLIENT_SECRET: it first gets a tessera:admin token through
 * IssueToken, then sends it as a Bearer token on every call.
 */
export async function authorizedClient<T extends DescService>(service: T, server: string, env: NodeJS.ProcessEnv): Promise<RpcClient<T>> {
  const clientId = env.TESSERA_CLIENT_ID;
  const clientSecret = env.TESSERA_CLIENT_SECRET;
  if (!clientId || !clientSecret) {
    throw new UsageError(
      "Set TESSERA_CLIENT_ID and TESSERA_CLIENT_SECRET to an admin client's credentials (`tessera bootstrap` creates the first one).",
    );
  }
  const transport = grpcTransport(server);
  const tokens = createClient(TokenService, transport);
  let accessToken: string;
  try {
    ({ accessToken } = await tokens.issueToken({ clientId, clientSecret, scope: ADMIN_SCOPE }));
  } catch (err) {
    throw explainTokenFailure(err, server, clientId);
  }
  const client = createClient(service, transport);
  const headers = { authorization: `Bearer ${accessToken}` };
  // Bind the header to every call, so callers cannot forget it.
  return new Proxy(client, {
    get(target, prop, receiver) {
      const fn = Reflect.get(target, prop, receiver) as unknown;
      if (typeof fn !== "function") return fn;
      return async (req: unknown, opts?: { headers?: Record<string, string> }) => {
        try {
          return await (fn as (r: unknown, o: unknown) => Promise<unknown>).call(target, req, {
            ...opts,
            headers: { ...opts?.headers, ...headers },
          });
        } catch (err) {
          const reason = unreachableReason(err);
          throw reason === undefined ? err : new ServerUnreachableError(server, reason);
        }
      };
    },
  });
}

/** A ClientAdmin client authenticated as the admin client from the environment. */
export function adminClient(server: string, env: NodeJS.ProcessEnv): Promise<RpcClient<typeof ClientAdmin>> {
  return authorizedClient(ClientAdmin, server, env);
}

// The admin token request failed: say which setting to fix rather than echo the OAuth code.
function explainTokenFailure(err: unknown, server: string, clientId: string): unknown {
  const reason = unreachableReason(err);
  if (reason !== undefined) return new ServerUnreachableError(server, reason);
  if (!(err instanceof ConnectError)) return err;
  const oauth = err.findDetails(ErrorInfoSchema)[0]?.reason;
  if (err.code === Code.Unauthenticated || oauth === "invalid_client") {
    return new AdminCredentialsError(
      `The server at ${server} refused the admin credentials in TESSERA_CLIENT_ID / TESSERA_CLIENT_SECRET (invalid_client): check both, or create an admin client with \`tessera bootstrap\`.`,
    );
  }
  if (oauth === "invalid_scope") {
    return new AdminCredentialsError(
      `TESSERA_CLIENT_ID names ${clientId}, and this client lacks the ${ADMIN_SCOPE} scope: use an admin client (\`tessera bootstrap\` creates the first one).`,
    );
  }
  return err;
}
