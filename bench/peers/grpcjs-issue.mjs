// Throwaway: a minimal @grpc/grpc-js server (devDependency) answering tessera.v1.TokenService/
// IssueToken with Tessera's own core (issueToken + toTokenRequest from dist/), to measure how
// much of the gRPC cost is the server framework. Env: PORT, BENCH_DB, BENCH_ISSUER, and
// BENCH_TRIVIAL=1 to answer a constant reply instead (the framework's floor).
import { fileURLToPath } from "node:url";
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";
import { OAuthError } from "../../dist/src/core/errors.js";
import { issueToken } from "../../dist/src/core/issue-token.js";
import { toTokenRequest } from "../../dist/src/transport/grpc/token-requests.js";
import { constantReply, openCoreDeps, toReply } from "./core-deps.mjs";
import { setting } from "./peer-process.mjs";

/** @import { OAuthErrorCode } from "../../dist/src/core/errors.js" */
/** @import { IssueTokenFields } from "../../dist/src/transport/grpc/issue-token-codec.js" */

const env = process.env;
const protoDir = fileURLToPath(new URL("../../proto", import.meta.url));
const def = protoLoader.loadSync("tessera/v1/token_service.proto", { includeDirs: [protoDir], keepCase: false, defaults: true });
const service = def["tessera.v1.TokenService"];
if (!service || "format" in service) throw new Error("tessera/v1/token_service.proto defines no tessera.v1.TokenService");
const deps = await openCoreDeps(env);
/** @type {Partial<Record<OAuthErrorCode, grpc.status>>} */
const CODES = {
  invalid_client: grpc.status.UNAUTHENTICATED,
  unauthorized_client: grpc.status.PERMISSION_DENIED,
  server_error: grpc.status.INTERNAL,
};
const constant = env.BENCH_TRIVIAL === "1" ? await constantReply(deps, env) : undefined;

/**
 * proto-loader (keepCase false, defaults true) hands over the request's fields in camelCase.
 * @type {grpc.handleUnaryCall<IssueTokenFields, ReturnType<typeof toReply>>}
 */
function issue(call, callback) {
  if (constant) return callback(null, constant);
  const auth = call.metadata.get("authorization")[0];
  Promise.resolve()
    .then(() => issueToken(deps, toTokenRequest(call.request, typeof auth === "string" ? auth : null)))
    .then(
      (r) => callback(null, toReply(r)),
      (err) =>
        callback({
          code: err instanceof OAuthError ? (CODES[err.code] ?? grpc.status.INVALID_ARGUMENT) : grpc.status.INTERNAL,
          details: String(err instanceof Error ? err.message : err),
        }),
    );
}

const server = new grpc.Server();
server.addService(service, { issueToken: issue });
server.bindAsync(`127.0.0.1:${setting(env, "PORT")}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.stdout.write(`listening ${port}\n`);
});
const stop = () => server.tryShutdown(() => deps.storage.close().then(() => process.exit(0)));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
