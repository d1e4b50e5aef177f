// --quick proves that the harness catches wrong answers: a round with a wrong secret must fail
// loudly, for the form endpoint (wrk or the Node generator) and for gRPC (h2load's reply-size
// check, since a gRPC error is an HTTP 200).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { basicAuthorization, issueTokenFrame } from "./check.mjs";
import { round } from "./rounds.mjs";
import { writeWrkScript } from "./wrk.mjs";

/** @import { Bench } from "../phases/setup.mjs" */
/** @import { Subject } from "./subjects.mjs" */

// An id of its own: Tessera throttles a client id after failed authentications, and the
// benchmark client must stay usable.
const WRONG = { clientId: "bench-self-test-unknown-client", clientSecret: "wrong-secret" };

/**
 * A copy of `s` that asks with the wrong credentials.
 * @param {Bench} bench
 * @param {Subject} s
 * @returns {Subject}
 */
function withWrongSecret(bench, s) {
  if (s.door === "http") {
    const authorization = basicAuthorization(WRONG.clientId, WRONG.clientSecret);
    const script = writeWrkScript(join(bench.work, "bad.lua"), {
      path: s.path,
      body: bench.settings.httpBody,
      authorizations: [authorization],
    });
    return { ...s, authorization, script };
  }
  const bad = { ...s, frame: issueTokenFrame(WRONG), frameFile: join(bench.work, "bad.grpc"), estRps: { 50: 500 } };
  writeFileSync(bad.frameFile, bad.frame);
  return bad;
}

/**
 * Runs a wrong-secret round against the ceiling (HTTP) and Tessera gRPC; records a failure
 * unless each is reported as failed.
 * @param {Bench} bench
 * @param {readonly Subject[]} subjects
 */
export async function wrongSecretRoundsFail(bench, subjects) {
  for (const id of ["ceiling", "tessera-grpc"]) {
    const s = subjects.find((x) => x.id === id);
    if (!s || s.failure) continue;
    const bad = withWrongSecret(bench, s);
    let caught = false;
    try {
      await round(bench, bad, { seconds: bad.door === "http" ? 1 : 0.3, latency: false, label: `${id} with a wrong secret (must fail)` });
    } catch (err) {
      caught = err instanceof Error && /ROUND FAILED/.test(err.message);
    }
    if (!caught)
      bench.fail("harness self-test", new Error(`a ${s.door} round with a wrong secret against ${id} was not reported as failed`));
    else bench.log(`  self-test: a ${s.door} round with a wrong secret against ${id} fails loudly, as it must`);
  }
}
