// Correctness before timing: one real request to a target, answered 200 with a token that
// verifies with jose (signature, alg, typ, iss, aud, exp, client id).
import http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { IssueTokenRequestSchema, IssueTokenResponseSchema } from "../../dist/gen/tessera/v1/token_service_pb.js";

/** @import { JSONWebKeySet } from "jose" */
/** @import { MessageInitShape } from "@bufbuild/protobuf" */

/**
 * What a token must be to pass: signed by a key in `jwks` with `alg`, for `issuer`, `audience`
 * and `clientId`; `label` names the target in errors.
 * @typedef {object} VerifyOptions
 * @property {string} label
 * @property {JSONWebKeySet} jwks
 * @property {string} issuer
 * @property {string} audience
 * @property {string} alg
 * @property {string} clientId
 */

/**
 * RFC 6749 Appendix B: each part form-urlencoded, then Basic.
 * @param {string} clientId
 * @param {string} clientSecret
 */
export function basicAuthorization(clientId, clientSecret) {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString("base64")}`;
}

/**
 * Verifies `token` against `jwks`; returns the payload or throws with the reason.
 * @param {string} token
 * @param {VerifyOptions} expected
 */
async function verifyToken(token, { jwks, issuer, audience, alg, clientId, label }) {
  try {
    const header = decodeProtectedHeader(token);
    if (header.alg !== alg) throw new Error(`alg is ${header.alg}, expected ${alg}`);
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer, audience, algorithms: [alg], typ: "at+jwt" });
    if (payload.client_id !== clientId) throw new Error(`client_id is ${payload.client_id}, expected ${clientId}`);
    if (typeof payload.exp !== "number" || typeof payload.jti !== "string") throw new Error("exp or jti missing");
    return payload;
  } catch (err) {
    throw new Error(`CHECK FAILED (${label}): the token does not verify with jose: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * POSTs the form once; returns { status, body, text, bytes } (body: the answer when it is a JSON object).
 * @param {string} url
 * @param {{ authorization?: string, body: string }} request
 */
export async function postForm(url, { authorization, body }) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...(authorization ? { authorization } : {}) },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  /** @type {Record<string, unknown> | undefined} a JSON object answer; anything else is only in `text` */
  let json;
  try {
    const v = JSON.parse(text);
    json = v !== null && typeof v === "object" && !Array.isArray(v) ? v : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, body: json, text, bytes: Buffer.byteLength(text) };
}

/**
 * Checks the form endpoint: 200, Bearer, a token that verifies.
 * @param {string} url
 * @param {{ authorization: string, body: string, verify: VerifyOptions }} request
 */
export async function checkHttpToken(url, { authorization, body, verify }) {
  const r = await postForm(url, { authorization, body });
  if (r.status !== 200) throw new Error(`CHECK FAILED (${verify.label}): POST ${url} answered ${r.status}: ${r.text.slice(0, 300)}`);
  const token = r.body?.access_token;
  const type = r.body?.token_type;
  if (typeof token !== "string" || typeof type !== "string" || !/^bearer$/i.test(type)) {
    // The answer may hold a token of another type: name its fields, never print their values.
    const fields = r.body && typeof r.body === "object" ? Object.keys(r.body).join(", ") : "not a JSON object";
    throw new Error(
      `CHECK FAILED (${verify.label}): no Bearer access_token in the answer (fields: ${fields}; token_type: ${JSON.stringify(type)})`,
    );
  }
  const payload = await verifyToken(token, verify);
  return { payload, bodyBytes: r.bytes };
}

/**
 * The gRPC length-prefixed frame of an IssueTokenRequest (what h2load posts).
 * @param {MessageInitShape<typeof IssueTokenRequestSchema>} fields
 */
export function issueTokenFrame(fields) {
  const msg = toBinary(IssueTokenRequestSchema, create(IssueTokenRequestSchema, fields));
  const frame = Buffer.alloc(5 + msg.length);
  frame.writeUInt32BE(msg.length, 1);
  Buffer.from(msg).copy(frame, 5);
  return frame;
}

/**
 * What one IssueToken call answered.
 * @typedef {object} GrpcReply
 * @property {number | undefined} httpStatus
 * @property {string | string[] | undefined} grpcStatus
 * @property {string | string[] | undefined} grpcMessage
 * @property {number} dataBytes
 * @property {import("../../dist/gen/tessera/v1/token_service_pb.js").IssueTokenResponse | undefined} reply
 */

/**
 * Sends one gRPC frame over h2c exactly as h2load will; returns status, trailers and the decoded reply.
 * @param {string} baseUrl
 * @param {string} path
 * @param {Buffer} frame
 * @param {http2.OutgoingHttpHeaders} [headers]
 * @returns {Promise<GrpcReply>}
 */
function grpcCall(baseUrl, path, frame, headers = {}) {
  return new Promise((resolve, reject) => {
    const session = http2.connect(baseUrl);
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error(`gRPC call to ${baseUrl}${path} timed out`));
    }, 10_000);
    session.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    const req = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...headers });
    /** @type {Buffer[]} */
    const chunks = [];
    /** @type {http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader | undefined} */
    let head;
    /** @type {http2.IncomingHttpHeaders} */
    let trailers = {};
    req.on("response", (h) => (head = h));
    req.on("trailers", (t) => (trailers = t));
    req.on("data", (c) => chunks.push(c));
    req.on("error", (err) => {
      clearTimeout(timer);
      session.destroy();
      reject(err);
    });
    req.on("end", () => {
      clearTimeout(timer);
      session.close();
      const data = Buffer.concat(chunks);
      const grpcStatus = trailers["grpc-status"] ?? head?.["grpc-status"];
      let reply;
      if (data.length >= 5) reply = fromBinary(IssueTokenResponseSchema, data.subarray(5, 5 + data.readUInt32BE(1)));
      resolve({
        httpStatus: head?.[":status"],
        grpcStatus,
        grpcMessage: trailers["grpc-message"] ?? head?.["grpc-message"],
        dataBytes: data.length,
        reply,
      });
    });
    req.end(frame);
  });
}

/**
 * Checks IssueToken: HTTP 200, grpc-status 0, a token that verifies; returns the reply's DATA size.
 * @param {string} baseUrl
 * @param {Buffer} frame
 * @param {VerifyOptions} verify
 */
export async function checkGrpcToken(baseUrl, frame, verify) {
  const r = await grpcCall(baseUrl, "/tessera.v1.TokenService/IssueToken", frame);
  if (r.httpStatus !== 200 || String(r.grpcStatus) !== "0" || !r.reply) {
    throw new Error(
      `CHECK FAILED (${verify.label}): IssueToken answered HTTP ${r.httpStatus}, grpc-status ${r.grpcStatus} ${r.grpcMessage ?? ""}`,
    );
  }
  if (!/^bearer$/i.test(r.reply.tokenType)) throw new Error(`CHECK FAILED (${verify.label}): token_type ${r.reply.tokenType}`);
  const payload = await verifyToken(r.reply.accessToken, verify);
  return { payload, replyDataBytes: r.dataBytes };
}
