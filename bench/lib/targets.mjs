// How each server under test is started (from built JavaScript only, on 127.0.0.1, pinned to the
// server core) and checked.
import { dirname, join } from "node:path";
import { freePort, start, waitForHttp, waitForTcp } from "./procs.mjs";

/** @import { JSONWebKeySet, JWK } from "jose" */
/** @import { Proc } from "./procs.mjs" */

/**
 * A server under test, listening on 127.0.0.1.
 * @typedef {object} Server
 * @property {Proc} proc
 * @property {number} port
 * @property {string} base its URL without a path
 * @property {string} issuer
 */

/** @typedef {Server & { jwks: JSONWebKeySet }} TesseraServer Tessera, with the keys it publishes */

/**
 * How to start a server: pinned to `cpus`, `nodeArgs` (such as --cpu-prof) for node, `env` added
 * to this process's.
 * @typedef {object} ServerOptions
 * @property {string | undefined} cpus
 * @property {readonly string[]} [nodeArgs]
 * @property {NodeJS.ProcessEnv} [env]
 * @property {string} [logDir] where the server's log goes (default: beside its database file; required for a URL)
 */

/**
 * `tessera serve` from bin/tessera (which runs dist/). `nodeArgs` such as --cpu-prof go to node;
 * `args` to serve.
 * @param {string} root where bin/ and dist/ are
 * @param {string} name
 * @param {string} db
 * @param {ServerOptions & { args?: readonly string[] }} options
 * @returns {Promise<TesseraServer>}
 */
export async function startTessera(root, name, db, { cpus, nodeArgs = [], args = [], env = {}, logDir }) {
  if (logDir === undefined && db.includes("://")) throw new Error(`${name}: a database URL needs a logDir`);
  const port = await freePort();
  const issuer = `http://localhost:${port}`;
  const p = start(
    name,
    process.execPath,
    [
      ...nodeArgs,
      join(root, "bin/tessera"),
      "serve",
      "--db",
      db,
      "--port",
      String(port),
      "--host",
      "127.0.0.1",
      "--issuer",
      issuer,
      "--alg",
      "ES256",
      ...args,
    ],
    // Tessera logs one line per token request (info, the default): to a file, as in production.
    { cpus, env: { ...process.env, ...env }, stdoutFile: join(logDir ?? dirname(db), `${name.replace(/[^a-z0-9]+/gi, "-")}-${port}.log`) },
  );
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(`${base}/.well-known/jwks.json`, p);
  const jwks = await (await fetch(`${base}/.well-known/jwks.json`)).json();
  if (!isJwks(jwks)) throw new Error(`${name}: ${base}/.well-known/jwks.json is not a JWK set`);
  return { proc: p, port, base, issuer, jwks };
}

/**
 * @param {unknown} x
 * @returns {x is JSONWebKeySet}
 */
const isJwks = (x) => typeof x === "object" && x !== null && "keys" in x && Array.isArray(x.keys);

/**
 * A benchmark peer script from bench/peers/ with BENCH_* settings in its environment.
 * @param {string} root where bench/peers/ and dist/ are
 * @param {string} name
 * @param {string} script
 * @param {ServerOptions & { h2cOnly?: boolean, readyPath?: string }} options
 * @returns {Promise<Server>}
 */
export async function startPeer(root, name, script, { cpus, h2cOnly = false, env = {}, nodeArgs = [], readyPath = "/" }) {
  const port = await freePort();
  const issuer = `http://localhost:${port}`;
  const p = start(name, process.execPath, [...nodeArgs, join(root, "bench/peers", script)], {
    cpus,
    env: { ...process.env, PORT: String(port), BENCH_ISSUER: issuer, ...env },
  });
  const base = `http://127.0.0.1:${port}`;
  if (h2cOnly) await waitForTcp(port, p);
  else await waitForHttp(`${base}${readyPath}`, p);
  return { proc: p, port, base, issuer };
}

/**
 * The public half of a private JWK, as a JWKS.
 * @param {JWK} jwk
 * @returns {JSONWebKeySet}
 */
export function publicJwks(jwk) {
  const { d: _d, ...pub } = jwk;
  return { keys: [pub] };
}
