// Throwaway: a bare node:http2 h2c server with connect-node serving only IssueToken, answered
// exactly as Tessera's TokenService does (toTokenRequest + issueToken from dist/), but with no
// socket sniffing, no HTTP/1 routes, no interceptors and no other services: it splits the gRPC
// cost between connect-node itself and Tessera's server.ts plumbing. Env as grpcjs-issue.mjs,
// including BENCH_TRIVIAL=1 for a constant reply.
import http2 from "node:http2";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { issueToken } from "../../dist/src/core/issue-token.js";
import { toTokenRequest } from "../../dist/src/transport/grpc/token-service.js";
import { TokenService } from "../../dist/gen/tessera/v1/token_service_pb.js";
import { openCoreDeps } from "./core-deps.mjs";

const env = process.env;
const deps = await openCoreDeps(env);
let routes = (router) =>
  router.service(TokenService, {
    async issueToken(req, ctx) {
      const r = await issueToken(deps, toTokenRequest(req, ctx.requestHeader.get("authorization")));
      return { accessToken: r.access_token, tokenType: r.token_type, expiresIn: r.expires_in, scope: r.scope ?? "" };
    },
  });
if (env.BENCH_TRIVIAL === "1") {
  const r = await issueToken(deps, toTokenRequest({ clientId: env.BENCH_CLIENT_ID, clientSecret: env.BENCH_CLIENT_SECRET, scope: "", audience: [] }, null));
  const constant = { accessToken: r.access_token, tokenType: r.token_type, expiresIn: r.expires_in, scope: r.scope ?? "" };
  routes = (router) => router.service(TokenService, { issueToken: async () => constant });
}
const server = http2.createServer({}, connectNodeAdapter({ routes }));
// BENCH_NODELAY=1: disable Nagle on accepted sockets (node:http2 leaves it on; node:http turns it off).
if (env.BENCH_NODELAY === "1") server.on("connection", (socket) => socket.setNoDelay(true));
server.listen(Number(env.PORT), "127.0.0.1", () => process.stdout.write(`listening ${env.PORT}\n`));
const stop = () => {
  server.close(() => deps.storage.close().then(() => process.exit(0)));
  setTimeout(() => process.exit(0), 1000).unref(); // open h2 sessions keep close() waiting
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
