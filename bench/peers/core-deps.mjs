// Builds Tessera's IssueTokenDeps from the compiled dist/ the way the composition root
// (src/compose) does, for the throwaway peers that put another RPC server in front of the same
// core function: config -> key policy -> KeyRing. If the composition changes shape, tsc says so here.
import { create, toBinary } from "@bufbuild/protobuf";
import { IssueTokenResponseSchema } from "../../dist/gen/tessera/v1/token_service_pb.js";
import { keyPolicy } from "../../dist/src/compose/keys.js";
import { loadConfig } from "../../dist/src/config.js";
import { systemClock } from "../../dist/src/core/clock.js";
import { issueToken } from "../../dist/src/core/issue-token.js";
import { SecretUseTracker } from "../../dist/src/core/secret-use.js";
import { KeyRing } from "../../dist/src/keys/key-ring.js";
import { SqliteStorage } from "../../dist/src/storage/sqlite/sqlite-storage.js";
import { toTokenRequest } from "../../dist/src/transport/grpc/token-requests.js";
import { setting } from "./peer-process.mjs";

/** @import { TokenResponse } from "../../dist/src/core/token-request.js" */
/** @import { IssueTokenResponse } from "../../dist/gen/tessera/v1/token_service_pb.js" */

/**
 * Opens the database in BENCH_DB and loads its signing keys as `tessera serve` would.
 * @param {NodeJS.ProcessEnv} [env] BENCH_DB, BENCH_ISSUER, PORT, and BENCH_ALG if not the default
 */
export async function openCoreDeps(env = process.env) {
  const flags = {
    db: setting(env, "BENCH_DB"),
    issuer: setting(env, "BENCH_ISSUER"),
    port: setting(env, "PORT"),
    ...(env.BENCH_ALG ? { alg: env.BENCH_ALG } : {}),
  };
  const config = loadConfig(flags, env);
  const storage = SqliteStorage.open(config.db);
  const keys = await KeyRing.open(storage, { policy: keyPolicy(config), clock: systemClock, kek: config.kek });
  return { storage, signer: keys, keys, clock: systemClock, issuer: config.issuer, secretUse: new SecretUseTracker() };
}

/**
 * The core's answer as the fields of an IssueTokenResponse.
 * @param {TokenResponse} r
 * @returns {Pick<IssueTokenResponse, "accessToken" | "tokenType" | "expiresIn" | "scope">}
 */
export function toReply(r) {
  return { accessToken: r.access_token, tokenType: r.token_type, expiresIn: r.expires_in, scope: r.scope ?? "" };
}

/**
 * One real token for the benchmark client (BENCH_CLIENT_ID, BENCH_CLIENT_SECRET), issued at
 * start: the constant reply of the peers that measure a framework's floor.
 * @param {Awaited<ReturnType<typeof openCoreDeps>>} deps
 * @param {NodeJS.ProcessEnv} env
 */
export async function constantReply(deps, env) {
  const fields = {
    clientId: setting(env, "BENCH_CLIENT_ID"),
    clientSecret: setting(env, "BENCH_CLIENT_SECRET"),
    scope: "",
    audience: [],
    clientAssertionType: "",
    clientAssertion: "",
  };
  return toReply(await issueToken(deps, toTokenRequest(fields, null)));
}

/**
 * An IssueTokenResponse as one length-prefixed gRPC message (uncompressed).
 * @param {ReturnType<typeof toReply>} reply
 */
export function replyFrame(reply) {
  const msg = toBinary(IssueTokenResponseSchema, create(IssueTokenResponseSchema, reply));
  const frame = Buffer.allocUnsafe(5 + msg.length);
  frame[0] = 0;
  frame.writeUInt32BE(msg.length, 1);
  frame.set(msg, 5);
  return frame;
}
