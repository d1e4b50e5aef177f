// A gRPC-native caller of another service: list Tessera's clients through ClientAdmin, with
// the SDK's interceptor attaching (and renewing) the tessera:admin token on every call.
//
//   TESSERA_SERVER=http://localhost:8080 TESSERA_CLIENT_ID=… TESSERA_CLIENT_SECRET=… npx tsx examples/grpc-admin.ts
import { ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { TokenClient, TokenError } from "tessera-oauth/client";
// Stubs generated from proto/ by `buf generate`; generate your own for your services.
import { ClientAdmin } from "../gen/tessera/v1/client_admin_pb.js";

const server = process.env.TESSERA_SERVER ?? "http://localhost:8080";
const tokens = new TokenClient({
  server,
  transport: "grpc",
  // The admin client's credentials live in TESSERA_CLIENT_*, as for the tessera CLI.
  env: { CLIENT_ID: process.env.TESSERA_CLIENT_ID, CLIENT_SECRET: process.env.TESSERA_CLIENT_SECRET },
  scope: "tessera:admin",
});
const admin = createClient(ClientAdmin, createGrpcTransport({ baseUrl: server, interceptors: [tokens.interceptor()] }));

try {
  const { clients } = await admin.listClients({ pageSize: 50 });
  for (const c of clients) console.log(`${c.clientId}\t${c.name}\t${c.scopes.join(" ")}`);
} catch (err) {
  // When no token could be had, the call fails with the interceptor's TokenError as its cause: that says what to fix.
  const why = err instanceof ConnectError && err.cause instanceof TokenError ? err.cause : (err as Error);
  console.error(`listing clients failed: ${why instanceof ConnectError ? why.rawMessage : why.message}`);
  process.exitCode = why instanceof TokenError ? 3 : 1;
} finally {
  await tokens.close();
}
