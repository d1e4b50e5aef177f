import type { DescService } from "@bufbuild/protobuf";
import { createClient, type Client as RpcClient, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ADMIN_SCOPE } from "../core/admin-auth.js";
import { ClientAdmin } from "../../gen/tessera/v1/client_admin_pb.js";
import { TokenService } from "../../gen/tessera/v1/token_service_pb.js";
import { UsageError } from "./usage.js";

/** Default server the CLI talks to. */
export const DEFAULT_SERVER = "http://localhost:8080";

/** A gRPC transport to `server` (h2c for http://, TLS for https://). */
export function grpcTransport(server: string): Transport {
  try {
    new URL(server);
  } catch {
    throw new UsageError(`--server must be a URL such as ${DEFAULT_SERVER} (got ${JSON.stringify(server)}).`);
  }
  return createGrpcTransport({ baseUrl: server });
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
    throw new UsageError("Set TESSERA_CLIENT_ID and TESSERA_CLIENT_SECRET to an admin client's credentials (see `tessera bootstrap`).");
  }
  const transport = grpcTransport(server);
  const tokens = createClient(TokenService, transport);
  const { accessToken } = await tokens.issueToken({ clientId, clientSecret, scope: ADMIN_SCOPE });
  const client = createClient(service, transport);
  const headers = { authorization: `Bearer ${accessToken}` };
  // Bind the header to every call, so callers cannot forget it.
  return new Proxy(client, {
    get(target, prop, receiver) {
      const fn = Reflect.get(target, prop, receiver) as unknown;
      if (typeof fn !== "function") return fn;
      return (req: unknown, opts?: { headers?: Record<string, string> }) =>
        (fn as (r: unknown, o: unknown) => unknown).call(target, req, { ...opts, headers: { ...opts?.headers, ...headers } });
    },
  });
}

/** A ClientAdmin client authenticated as the admin client from the environment. */
export function adminClient(server: string, env: NodeJS.ProcessEnv): Promise<RpcClient<typeof ClientAdmin>> {
  return authorizedClient(ClientAdmin, server, env);
}
