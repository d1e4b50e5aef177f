// A subject is one target under load: a server, the door it is driven through (the form
// endpoint or gRPC IssueToken), the credentials, the files the load generators read, and the
// rounds measured so far.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { basicAuthorization, checkGrpcToken, checkHttpToken, issueTokenFrame } from "./check.mjs";
import { messageOf } from "./run-log.mjs";
import { AUDIENCE } from "./setup.mjs";
import { writeWrkScript } from "./wrk.mjs";

/** @import { JSONWebKeySet } from "jose" */
/** @import { AssertionBodies } from "./assertions.mjs" */
/** @import { VerifyOptions } from "./check.mjs" */
/** @import { CoreUse } from "./cpu-usage.mjs" */
/** @import { Proc } from "./procs.mjs" */
/** @import { Credentials } from "./setup.mjs" */
/** @import { Server } from "./targets.mjs" */

/** The gRPC method every gRPC subject is driven through. */
const ISSUE_TOKEN_PATH = "/tessera.v1.TokenService/IssueToken";

/**
 * One load round's figures; latency is missing where the load generator gives none.
 * @typedef {object} RoundResult
 * @property {number} rps
 * @property {number} requests
 * @property {number | undefined} [p50] ms
 * @property {number | undefined} [p99] ms
 * @property {CoreUse | undefined} core
 * @property {number | undefined} cpuUsPerToken
 * @property {boolean} [noisy] others or steal took the server's core
 */

/**
 * Latency under a fixed offered load (tokens/s in all).
 * @typedef {{ rate: number, rps: number, p50: number | undefined, p99: number | undefined }} PacedResult
 */

/**
 * What every subject has, whichever door.
 * @typedef {object} SubjectBase
 * @property {string} id
 * @property {string} title
 * @property {Proc} proc
 * @property {string} base
 * @property {string} path
 * @property {VerifyOptions} verify
 * @property {RoundResult[]} rounds
 * @property {string} [failure] set once a check or round failed; no more rounds then
 * @property {boolean} [unpinned] a cluster: measured as a process tree, load from every core
 * @property {{ rps: number, p50: number | undefined, p99: number | undefined }} [c1]
 * @property {PacedResult} [paced]
 * @property {number | undefined} [peakRssKb]
 * @property {string} [setup] how the row's server was prepared
 */

/**
 * @typedef {SubjectBase & { door: "http", url: string, authorization: string, script: string, bodies?: AssertionBodies }} HttpSubject
 * @typedef {SubjectBase & { door: "grpc", frame: Buffer, frameFile: string, replyDataBytes?: number, estRps?: Record<number, number> }} GrpcSubject
 * @typedef {HttpSubject | GrpcSubject} Subject
 */

/**
 * What a subject is made from: `jwks` verifies its tokens (the server's own by default).
 * @typedef {object} SubjectSpec
 * @property {string} id
 * @property {string} title
 * @property {Server & { jwks?: JSONWebKeySet }} srv
 * @property {Credentials} cred
 * @property {JSONWebKeySet} [jwks]
 */

/**
 * What a token from `srv` must be for `clientId`.
 * @param {string} label
 * @param {Server} srv
 * @param {JSONWebKeySet | undefined} jwks
 * @param {string} clientId
 * @returns {VerifyOptions}
 */
function verifyFor(label, srv, jwks, clientId) {
  if (!jwks) throw new Error(`${label}: no keys to verify its tokens with`);
  return { label, jwks, issuer: srv.issuer, audience: AUDIENCE, alg: "ES256", clientId };
}

/**
 * A subject driven through the form endpoint at `path`, with wrk's script written to `work`.
 * wrk asks as each of `rotate` in turn (default: `cred` alone); single requests use `cred`.
 * @param {{ work: string, body: string }} files
 * @param {SubjectSpec & { path: string, rotate?: readonly Credentials[] }} spec
 * @returns {HttpSubject}
 */
export function httpSubject({ work, body }, { id, title, srv, path, cred, jwks = srv.jwks, rotate = [cred] }) {
  const authorization = basicAuthorization(cred.clientId, cred.clientSecret);
  const authorizations = rotate.map((c) => basicAuthorization(c.clientId, c.clientSecret));
  const script = writeWrkScript(join(work, `${id}.lua`), { path, body, authorizations });
  const verify = verifyFor(id, srv, jwks, cred.clientId);
  return { id, title, door: "http", proc: srv.proc, base: srv.base, url: srv.base + path, path, authorization, script, verify, rounds: [] };
}

/**
 * A subject driven through gRPC IssueToken, with h2load's request frame written to `work`.
 * @param {{ work: string }} files
 * @param {SubjectSpec} spec
 * @returns {GrpcSubject}
 */
export function grpcSubject({ work }, { id, title, srv, cred, jwks = srv.jwks }) {
  const frame = issueTokenFrame({ clientId: cred.clientId, clientSecret: cred.clientSecret });
  const frameFile = join(work, `${id}.grpc`);
  writeFileSync(frameFile, frame);
  const verify = verifyFor(id, srv, jwks, cred.clientId);
  return { id, title, door: "grpc", proc: srv.proc, base: srv.base, path: ISSUE_TOKEN_PATH, frame, frameFile, verify, rounds: [] };
}

/**
 * Correctness before timing: one request answered 200 with a token that verifies. For gRPC it
 * also learns the size of a reply, which every counted round then checks.
 * @param {Subject} s
 * @param {string} body the form body
 * @param {(line: string) => void} log
 */
export async function checkSubject(s, body, log) {
  if (s.door === "http") {
    // A subject with its own bodies (a new client assertion each) is checked with one of them.
    await checkHttpToken(s.url, { authorization: s.authorization, body: s.bodies ? s.bodies.next() : body, verify: s.verify });
  } else {
    const c = await checkGrpcToken(s.base, s.frame, s.verify);
    s.replyDataBytes = c.replyDataBytes;
  }
  log(`  check ${s.id}: 200 and a token that verifies with jose (${s.verify.alg}, typ at+jwt, iss, aud, client_id)`);
}

/**
 * What h2load posts for a subject: the form over HTTP/1.1 with its Basic credentials (the body
 * written to a file in `work`), or the IssueToken frame over h2c, whose reply size every
 * counted round checks.
 * @param {Subject} s
 * @param {string} work
 * @param {string} body the form body
 */
export function h2loadRequest(s, work, body) {
  if (s.door === "http") {
    const dataFile = join(work, "form.txt");
    writeFileSync(dataFile, body);
    const headers = [`authorization: ${s.authorization}`, "content-type: application/x-www-form-urlencoded"];
    return { url: s.url, dataFile, h1: true, headers, replyDataBytes: undefined };
  }
  return {
    url: s.base + s.path,
    dataFile: s.frameFile,
    h1: false,
    headers: ["content-type: application/grpc", "te: trailers"],
    replyDataBytes: s.replyDataBytes,
  };
}

/**
 * Runs `step` on every subject that has not failed; a subject whose step throws is marked
 * failed and reported as `where(s)`, and the others go on.
 * @template {Subject} S
 * @param {readonly S[]} subjects
 * @param {(s: S) => string} where
 * @param {(s: S) => Promise<void>} step
 * @param {(where: string, err: unknown) => void} fail
 */
export async function forEachLive(subjects, where, step, fail) {
  for (const s of subjects) {
    if (s.failure) continue;
    try {
      await step(s);
    } catch (err) {
      s.failure = messageOf(err);
      fail(where(s), err);
    }
  }
}
