// The cost of a private_key_jwt token next to a secret one: the same Tessera server, driven
// through POST /oauth/token as a client_secret_basic client and as a private_key_jwt client (a
// fresh ES256 assertion per request: signature check plus one replay-store write), in
// interleaved rounds. In --quick: the checks and one short round each.
import { join } from "node:path";
import { AssertionBodies, addKeyClient, writeWrkBodiesScript } from "../lib/assertions.mjs";
import { stop } from "../lib/procs.mjs";
import { checkAndWarm, finish, rounds } from "../lib/rounds.mjs";
import { ratio } from "../lib/stats.mjs";
import { httpSubject } from "../lib/subjects.mjs";
import { startTessera } from "../lib/targets.mjs";

/** @import { Bench } from "./setup.mjs" */
/** @import { HttpSubject } from "../lib/subjects.mjs" */

const NOTE =
  "One server, pinned like the main rows; private_key_jwt bodies are signed by the harness before each round (not timed), each with a new jti, so every token costs Tessera an ES256 signature check and one replay-store write.";

/**
 * The secretless phase.
 * @param {Bench} bench
 */
export async function secretlessPhase(bench) {
  const { settings: S, log, elapsed, report: R } = bench;
  log(`\n[${elapsed()}] secretless: a secret client against a private_key_jwt client on the same server`);
  const db = bench.copyDb("secretless");
  const keyClient = await addKeyClient(db);
  const srv = await startTessera(bench.runRoot, "tessera (secretless)", db, { cpus: bench.pin.server });
  const files = { work: bench.work, body: S.httpBody };
  const secret = httpSubject(files, { id: "secret", title: "client_secret_basic", srv, path: "/oauth/token", cred: bench.creds.bench });
  /** @type {HttpSubject} */
  const keys = httpSubject(files, {
    id: "private-key-jwt",
    title: "private_key_jwt (ES256 assertion)",
    srv,
    path: "/oauth/token",
    cred: { clientId: keyClient.clientId, clientSecret: "" },
  });
  const bodiesFile = join(bench.work, "assertion-bodies.txt");
  keys.authorization = "";
  keys.bodies = new AssertionBodies(keyClient, srv.issuer, S.httpBody, bodiesFile);
  keys.script = writeWrkBodiesScript(join(bench.work, "private-key-jwt.lua"), { path: "/oauth/token", bodiesFile });
  const subjects = [secret, keys];
  await checkAndWarm(bench, subjects, S.warmupSeconds);
  await rounds(bench, subjects, { count: S.rounds, seconds: S.seconds, what: "secretless" });
  await stop(srv.proc);
  const rows = subjects.map((s) => finish(bench, s));
  R.secretless = { note: NOTE, rows };
  const [cpuSecret, cpuKeys] = rows.map((r) => r.cpuUsPerToken?.median);
  R.ratios?.push({
    what: "server CPU per token: private_key_jwt µs / secret µs (informational)",
    goal: "-",
    measured: ratio(cpuKeys, cpuSecret),
    met: undefined,
  });
}
