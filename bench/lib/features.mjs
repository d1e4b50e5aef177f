// Which optional features the build under test has, asked of a running Tessera: the rows that
// need one say "n/a (feature not present)" instead of failing.
import { join } from "node:path";
import { basicAuthorization, postForm } from "./check.mjs";
import { run } from "./procs.mjs";

/** @import { Bench } from "../phases/setup.mjs" */
/** @import { Server } from "./targets.mjs" */

/**
 * Revocation (RFC 7009: revokes a real token, or 404 without the endpoint) and `--workers`
 * (listed by `tessera serve --help`); writes both into the report.
 * @param {Bench} bench
 * @param {Server} tessera
 */
export async function detectFeatures(bench, tessera) {
  const { report: R, creds } = bench;
  const authorization = basicAuthorization(creds.bench.clientId, creds.bench.clientSecret);
  const tok = await postForm(`${tessera.base}/oauth/token`, { authorization, body: bench.settings.httpBody });
  const token = tok.body?.access_token;
  const rv = await postForm(`${tessera.base}/oauth/revoke`, {
    authorization,
    body: `token=${encodeURIComponent(typeof token === "string" ? token : "")}&token_type_hint=access_token`,
  });
  R.features.revocation =
    rv.status === 404
      ? "absent (POST /oauth/revoke answers 404)"
      : rv.status === 200
        ? "present (POST /oauth/revoke revoked a real token: 200)"
        : `present but answered ${rv.status}: ${rv.text.slice(0, 200)}`;
  R.hasRevocation = rv.status === 200;
  const help = await run("tessera serve --help", process.execPath, [join(bench.runRoot, "bin/tessera"), "serve", "--help"], {
    timeoutMs: 20_000,
  });
  R.hasWorkers = /--workers/.test(help.stdout);
  R.features.workers = R.hasWorkers
    ? "present (`tessera serve --help` lists --workers)"
    : "absent (`tessera serve --help` has no --workers)";
  bench.log(`  features: revocation ${R.features.revocation}; workers ${R.features.workers}`);
}
