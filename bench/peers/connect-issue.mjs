// Throwaway: a bare node:http2 h2c server with connect-node serving only IssueToken, answered
// exactly as Tessera's TokenService does (toTokenRequest + issueToken from dist/), but with no
// socket sniffing, no HTTP/1 routes, no interceptors and no other services: it splits the gRPC
// cost between connect-node itself and Tessera's server.ts plumbing. Env as grpcjs-issue.mjs,
// including BENCH_TRIVIAL=1 for a constant reply.
import http2 from "node:http2";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { TokenService } from "../../dist/gen/tessera/v1/token_service_pb.js";
import { issueToken } from "../../dist/src/core/issue-token.js";
import { toTokenRequest } from "../../dist/src/transport/grpc/token-requests.js";
import { constantReply, openCoreDeps, toReply } from "./core-deps.mjs";
import { serveH2c } from "./peer-process.mjs";

/** @import { ConnectRouter } from "@connectrpc/connect" */

const env = process.env;
const deps = await openCoreDeps(env);
/** @type {(router: ConnectRouter) => void} */
let routes = (router) => {
  router.service(TokenService, {
    async issueToken(req, ctx) {
      return toReply(await issueToken(deps, toTokenRequest(req, ctx.requestHeader.get("authorization"))));
    },
  });
};
if (env.BENCH_TRIVIAL === "1") {
  const constant = await constantReply(deps, env);
  routes = (router) => {
    router.service(TokenService, { issueToken: async () => constant });
  };
}
const server = http2.createServer({}, connectNodeAdapter({ routes }));
// BENCH_NODELAY=1: disable Nagle on accepted sockets (node:http2 leaves it on; node:http turns it off).
if (env.BENCH_NODELAY === "1") server.on("connection", (/** @type {import("node:net").Socket} */ socket) => socket.setNoDelay(true));
serveH2c(server, deps.storage);
