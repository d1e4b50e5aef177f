// Throwaway: what a gRPC fast path for IssueToken in server.ts could reach. The node:http2 stream
// API decodes the length-prefixed IssueTokenRequest with protobuf-es, calls Tessera's core
// (toTokenRequest + issueToken from dist/) and answers HEADERS + DATA + trailers itself; no RPC
// framework. A real fast path would also map errors as transport/grpc/errors.ts does (here only
// the status code and message) and hand every other path to connect-node. Env as grpcjs-issue.mjs.
import http2 from "node:http2";
import { fromBinary } from "@bufbuild/protobuf";
import { IssueTokenRequestSchema } from "../../dist/gen/tessera/v1/token_service_pb.js";
import { OAuthError } from "../../dist/src/core/errors.js";
import { issueToken } from "../../dist/src/core/issue-token.js";
import { toTokenRequest } from "../../dist/src/transport/grpc/token-requests.js";
import { openCoreDeps, replyFrame, toReply } from "./core-deps.mjs";
import { serveH2c } from "./peer-process.mjs";

/** @import { OAuthErrorCode } from "../../dist/src/core/errors.js" */

const deps = await openCoreDeps(process.env);
const PATH = "/tessera.v1.TokenService/IssueToken";
/** @type {Partial<Record<OAuthErrorCode, number>>} */
const CODES = { invalid_client: 16, unauthorized_client: 7, server_error: 13 };

/**
 * A trailers-only gRPC error.
 * @param {http2.ServerHttp2Stream} stream
 * @param {number} code
 * @param {string} message
 */
function fail(stream, code, message) {
  stream.respond(
    { ":status": 200, "content-type": "application/grpc", "grpc-status": String(code), "grpc-message": encodeURIComponent(message) },
    { endStream: true },
  );
}

const server = http2.createServer();
server.on("stream", (stream, headers) => {
  if (headers[":path"] !== PATH) return fail(stream, 12, "only IssueToken is served here");
  /** @type {Buffer[]} */
  const chunks = [];
  stream.on("data", (c) => chunks.push(typeof c === "string" ? Buffer.from(c) : c));
  stream.on("end", () => {
    const body = chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks);
    if (body.length < 5 || body[0] !== 0 || body.readUInt32BE(1) !== body.length - 5)
      return fail(stream, 13, "one uncompressed message expected");
    let req;
    try {
      req = fromBinary(IssueTokenRequestSchema, body.subarray(5));
    } catch {
      return fail(stream, 13, "cannot decode IssueTokenRequest");
    }
    const auth = headers.authorization;
    issueToken(deps, toTokenRequest(req, typeof auth === "string" ? auth : null)).then(
      (r) => {
        if (stream.destroyed) return;
        stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
        stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
        stream.end(replyFrame(toReply(r)));
      },
      (err) => {
        if (!stream.destroyed)
          fail(
            stream,
            err instanceof OAuthError ? (CODES[err.code] ?? 3) : 13,
            err instanceof OAuthError ? err.description : "internal error",
          );
      },
    );
  });
});
serveH2c(server, deps.storage);
