// Throwaway: the floor of gRPC over node:http2 on this machine. The stream API answers every
// IssueToken with one constant reply (a real token issued once at start by Tessera's core), with
// no RPC framework at all: what any Node gRPC server pays for HTTP/2 alone. Env as grpcjs-issue.mjs.
import http2 from "node:http2";
import { constantReply, openCoreDeps, replyFrame } from "./core-deps.mjs";
import { serveH2c } from "./peer-process.mjs";

const deps = await openCoreDeps(process.env);
const frame = replyFrame(await constantReply(deps, process.env));

const server = http2.createServer();
server.on("stream", (stream) => {
  stream.on("data", () => {});
  stream.on("end", () => {
    stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
    stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    stream.end(frame);
  });
});
serveH2c(server, deps.storage);
