// Throwaway: the floor of gRPC over node:http2 on this machine. The stream API answers every
// IssueToken with one constant reply (a real token issued once at start by Tessera's core), with
// no RPC framework at all: what any Node gRPC server pays for HTTP/2 alone. Env as grpcjs-issue.mjs.
import http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { issueToken } from "../../dist/src/core/issue-token.js";
import { toTokenRequest } from "../../dist/src/transport/grpc/token-service.js";
import { IssueTokenResponseSchema } from "../../dist/gen/tessera/v1/token_service_pb.js";
import { openCoreDeps } from "./core-deps.mjs";

const env = process.env;
const deps = await openCoreDeps(env);
const r = await issueToken(deps, toTokenRequest({ clientId: env.BENCH_CLIENT_ID, clientSecret: env.BENCH_CLIENT_SECRET, scope: "", audience: [] }, null));
const msg = toBinary(IssueTokenResponseSchema, create(IssueTokenResponseSchema, { accessToken: r.access_token, tokenType: r.token_type, expiresIn: r.expires_in, scope: r.scope ?? "" }));
const frame = Buffer.alloc(5 + msg.length);
frame.writeUInt32BE(msg.length, 1);
Buffer.from(msg).copy(frame, 5);

const server = http2.createServer();
server.on("stream", (stream) => {
  stream.on("data", () => {});
  stream.on("end", () => {
    stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
    stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    stream.end(frame);
  });
});
server.listen(Number(env.PORT), "127.0.0.1", () => process.stdout.write(`listening ${env.PORT}\n`));
const stop = () => {
  server.close(() => deps.storage.close().then(() => process.exit(0)));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
