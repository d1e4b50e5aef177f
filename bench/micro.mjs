#!/usr/bin/env node
// Micro-benchmarks of the pieces of one token request, from dist/, one at a time on one core:
// what each would save if it were cached or removed. Not part of `npm run bench`; run it with
// `npm run build && node bench/micro.mjs` (it pins itself to CPU 0 when taskset exists).
// Prints µs of CPU per operation (process.cpuUsage), the median of 5 runs of ~0.3 s each.
import { spawnSync } from "node:child_process";
import { createPrivateKey, generateKeyPairSync, sign } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { compactVerify } from "jose";
import { pino } from "pino";
import { Counter, Histogram, Registry } from "prom-client";
import { hashClientSecret } from "../dist/src/core/client-secret.js";
import { issueToken } from "../dist/src/core/issue-token.js";
import { parseTokenRequest } from "../dist/src/transport/http/token-request-parser.js";
import { basicAuthorization } from "./lib/check.mjs";
import { hasTaskset } from "./lib/procs.mjs";
import { makeMainDb } from "./lib/setup.mjs";
import { openCoreDeps } from "./peers/core-deps.mjs";

if (process.env.BENCH_MICRO_PINNED !== "1" && hasTaskset() && os.cpus().length > 1) {
  const r = spawnSync("taskset", ["-c", "0", process.execPath, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, BENCH_MICRO_PINNED: "1" },
  });
  process.exit(r.status ?? 1);
}

const root = new URL("..", import.meta.url).pathname;
const work = mkdtempSync(join(os.tmpdir(), "tessera-micro-"));
const db = join(work, "micro.db");
const { bench } = await makeMainDb(root, db);
const deps = await openCoreDeps({ ...process.env, BENCH_DB: db, BENCH_ISSUER: "http://localhost:8080", PORT: "8080" });
const authorization = basicAuthorization(bench.clientId, bench.clientSecret);
const body = "grant_type=client_credentials&scope=read+write";
const request = parseTokenRequest(authorization, "", body);
const claims = {
  iss: "http://localhost:8080",
  sub: bench.clientId,
  aud: "https://api.example.com",
  exp: 1_800_000_000,
  iat: 1_799_996_400,
  jti: "6f1f9a1e-4a6a-4b8e-9d0e-2f0f2b8c1d3e",
  client_id: bench.clientId,
  scope: "read write",
};
/** @type {import("node:crypto").SignKeyObjectInput} */
const rawKey = {
  key: createPrivateKey(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "pem", type: "pkcs8" })),
  dsaEncoding: "ieee-p1363",
};
const input = Buffer.from(`eyJhbGciOiJFUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`);
const log = pino({ level: "info", base: { service: "tessera" } }, pino.destination({ dest: "/dev/null", sync: false }));
const logSync = pino({ level: "info", base: { service: "tessera" } }, pino.destination({ dest: "/dev/null", sync: true }));
const registry = new Registry();
const counter = new Counter({ name: "c", help: "c", labelNames: ["transport", "endpoint", "outcome", "error"], registers: [registry] });
const histogram = new Histogram({
  name: "h",
  help: "h",
  labelNames: ["transport", "endpoint"],
  buckets: [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  registers: [registry],
});
const logFields = {
  transport: "http",
  endpoint: "token",
  client_id: bench.clientId,
  scope: "read write",
  origin: "127.0.0.1",
  outcome: "success",
  latency_ms: 0.123,
};
const answer = { access_token: "x".repeat(520), token_type: "Bearer", expires_in: 3600, scope: "read write" };

// A private_key_jwt assertion (RFC 7523) and the public key that checks it.
const clientPair = generateKeyPairSync("ec", { namedCurve: "P-256" });
const assertionInput = [
  { alg: "ES256", typ: "client-authentication+jwt" },
  {
    iss: bench.clientId,
    sub: bench.clientId,
    aud: "http://localhost:8080",
    iat: 1_799_999_940,
    exp: 1_800_000_000,
    jti: "3b9f0c2e-7d41-4c55-a1f8-0c6a2d9e4b17",
  },
]
  .map((part) => Buffer.from(JSON.stringify(part)).toString("base64url"))
  .join(".");
const assertion = `${assertionInput}.${sign("sha256", Buffer.from(assertionInput), { key: clientPair.privateKey, dsaEncoding: "ieee-p1363" }).toString("base64url")}`;
// Every call records a new jti, as every private_key_jwt token request does.
let jtiSeq = 0;

/** @type {[string, () => unknown][]} */
const cases = [
  ["node:crypto ES256 sign (the floor of any JWT issuer)", () => sign("sha256", input, rawKey)],
  ["KeyRing.sign(claims): JSON + base64url + ES256", () => deps.keys.sign(claims)],
  ["storage.getClient (SQLite: client + secrets rows, row mapping)", () => deps.storage.getClient(bench.clientId)],
  ["hashClientSecret (SHA-256 of the presented secret)", () => hashClientSecret(bench.clientSecret)],
  [
    "jose compactVerify ES256 (a private_key_jwt assertion's signature)",
    () => compactVerify(assertion, clientPair.publicKey, { algorithms: ["ES256"] }),
  ],
  [
    "storage.recordAssertionJti (SQLite: the replay-store write of a private_key_jwt token)",
    () => deps.storage.recordAssertionJti(bench.clientId, `jti-${jtiSeq++}`, 1_800_000_000_000, Date.now()),
  ],
  ["parseTokenRequest (Basic + form + query)", () => parseTokenRequest(authorization, "", body)],
  ["issueToken (whole core, sequential)", () => issueToken(deps, request)],
  ["pino info line, async destination", () => log.info(logFields, "token request")],
  ["pino info line, sync destination", () => logSync.info(logFields, "token request")],
  [
    "prom-client counter.inc + histogram.observe",
    () => {
      counter.inc({ transport: "http", endpoint: "token", outcome: "success", error: "" });
      histogram.observe({ transport: "http", endpoint: "token" }, 0.0012);
    },
  ],
  ["JSON.stringify(answer) + Buffer.byteLength", () => Buffer.byteLength(JSON.stringify(answer))],
];

/**
 * µs of CPU per call of `fn`: the median of 5 runs of about 0.3 s each, after a warm-up.
 * @param {() => unknown} fn
 */
async function measure(fn) {
  const isAsync = fn() instanceof Promise;
  for (let i = 0; i < 2000; i++) isAsync ? await fn() : fn();
  const runs = [];
  for (let r = 0; r < 5; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < 300 && n < 5_000_000) {
      for (let i = 0; i < 100; i++) isAsync ? await fn() : fn();
      n += 100;
    }
    const c = process.cpuUsage(c0);
    runs.push((c.user + c.system) / n);
  }
  runs.sort((a, b) => a - b);
  return runs[2] ?? NaN;
}

process.stdout.write(
  `| piece (from dist/, one core${process.env.BENCH_MICRO_PINNED === "1" ? ", pinned to CPU 0" : ""}) | µs CPU per op |\n|---|---:|\n`,
);
for (const [name, fn] of cases) process.stdout.write(`| ${name} | ${(await measure(fn)).toFixed(1)} |\n`);
log.flush();
await deps.storage.close();
rmSync(work, { recursive: true, force: true });
