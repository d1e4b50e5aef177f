#!/usr/bin/env node
// Tessera's benchmark. `npm run bench` (full, ~14 min) or `npm run bench:quick` (~10 s,
// correctness only: exits non-zero when any target answers wrong, never judges speed).
// Starts every server itself from built JavaScript on 127.0.0.1, pins server and load generator
// to different cores, and stops everything it started. See bench/README.md.
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { basicAuthorization, checkGrpcToken, checkHttpToken, issueTokenFrame, postForm } from "./lib/check.mjs";
import { summarise } from "./lib/cpuprofile.mjs";
import { assertH2loadClean, h2loadRound, latencyFromLog } from "./lib/h2load.mjs";
import { measureCore, measureTree, processCpuMs } from "./lib/cpu-usage.mjs";
import { calibrate, describeMachine, pinningPlan } from "./lib/machine.mjs";
import { nodeGrpcRound, nodeHttpRound } from "./lib/node-load.mjs";
import { installCleanup, memOf, run, stop, stopAll, treeMem, sleep } from "./lib/procs.mjs";
import { markdownReport } from "./lib/report.mjs";
import { AUDIENCE, dbFiles, makeMainDb, SCOPES, seedClients, seedRevocations } from "./lib/setup.mjs";
import { ratio, spread } from "./lib/stats.mjs";
import { publicJwks, startPeer, startTessera } from "./lib/targets.mjs";
import { wrkRound, writeWrkScript } from "./lib/wrk.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PHASES = ["main", "frameworks", "scaling", "workers", "profile", "million"];

const { values: o } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    seconds: { type: "string" },
    warmup: { type: "string" },
    clients: { type: "string" },
    revoked: { type: "string" },
    tokens: { type: "string" },
    skip: { type: "string", default: "" },
    keep: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
  strict: true,
});
if (o.help) {
  process.stdout.write(`usage: node bench/run.mjs [--quick] [--rounds 3] [--seconds 10] [--warmup 5]
       [--clients 100000] [--revoked 100000] [--tokens 1000000] [--skip ${PHASES.slice(1).join(",")}] [--keep]
`);
  process.exit(0);
}
const num = (v, d) => (v === undefined ? d : Number(v));
const quick = o.quick;
const S = {
  connections: 50,
  rounds: num(o.rounds, quick ? 1 : 3),
  seconds: num(o.seconds, quick ? 1 : 10),
  warmupSeconds: num(o.warmup, quick ? 0 : 4),
  c1Seconds: quick ? 0 : 5,
  // Latency under an offered load below every target's capacity (h2load --rps), besides the
  // saturated rounds, where 50 closed-loop connections make the mean latency 50 / throughput.
  pacedRate: 2000,
  pacedSeconds: quick ? 0 : 8,
  frameworkSeconds: quick ? 0 : 3,
  scalingSeconds: quick ? 0 : 6,
  // A 10% difference needs more than three 6 s rounds to stand out of this VM's noise.
  scalingRounds: Math.max(num(o.rounds, 3), 5),
  profileSeconds: 10,
  clients: num(o.clients, 100_000),
  revoked: num(o.revoked, 100_000),
  tokens: num(o.tokens, 1_000_000),
  httpBody: "grant_type=client_credentials&scope=read+write",
  watchdogSeconds: quick ? 120 : 1800,
};
const skip = new Set(o.skip.split(",").filter(Boolean));
const enabled = (phase) => (phase === "main" ? true : !quick && !skip.has(phase));

const t0 = Date.now();
const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
const resultsDir = join(ROOT, "bench/results");
mkdirSync(resultsDir, { recursive: true });
const work = mkdtempSync(join(os.tmpdir(), "tessera-bench-"));
const log = (s) => process.stderr.write(`${s}\n`);
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(0)}s`;
const failures = [];
const fail = (where, err) => {
  const msg = `${where}: ${err instanceof Error ? err.message : String(err)}`;
  failures.push(msg.split("\n").slice(0, 6).join(" | "));
  log(`\n!!! ${msg}\n`);
};

// Others rebuild dist/ while a run goes on (npm test compiles): every server starts from a copy
// taken now, inside the repository so that node_modules still resolve.
const SNAP = join(resultsDir, `.snapshot-${stamp}`);
for (const d of ["dist", "bin", "proto", "bench/peers"]) cpSync(join(ROOT, d), join(SNAP, d), { recursive: true });
const RUN_ROOT = SNAP;

const cleanup = async () => {
  await stopAll();
  rmSync(SNAP, { recursive: true, force: true });
  if (!o.keep) rmSync(work, { recursive: true, force: true });
};
installCleanup(cleanup);
const watchdog = setTimeout(() => {
  log(`\nBENCH TIMEOUT: still running after ${S.watchdogSeconds} s; stopping everything.`);
  void cleanup().finally(() => process.exit(1));
}, S.watchdogSeconds * 1000);

const machine = describeMachine();
const pin = pinningPlan(machine);
log(`Tessera benchmark (${quick ? "quick: correctness only" : "full"})`);
log(`machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGb} GiB, Node ${machine.node}`);
log(`pinning: ${pin.text}`);
log(`tools: wrk ${machine.tools.wrk ?? "MISSING"}, h2load ${machine.tools.h2load ?? "MISSING"}`);
const calibration = { start: calibrate(pin.server) };
log(`yardstick: ${calibration.start?.es256SignsPerSecond ?? "?"} ES256 signs/s on the server core (about 34.6k on this 2-core VM when quiet)`);
const haveTools = Boolean(machine.tools.wrk && machine.tools.h2load);
if (!haveTools && !quick) {
  log("The full benchmark needs wrk and h2load: apt-get install -y wrk nghttp2-client");
  await cleanup();
  process.exit(2);
}
if (!haveTools) log("wrk or h2load missing: --quick drives the targets with a small Node load generator instead (correctness only)");

// ---------------------------------------------------------------- rounds

/**
 * One load round on a subject; returns { rps, p50, p99, requests, core }. `core` says how the
 * server's core was used meanwhile (server / other processes / steal / idle, %). Throws when any
 * answer is wrong.
 */
async function round(s, opts = {}) {
  // A cluster (unpinned) is measured as its whole process tree, without the core's sharing.
  const done = !s.proc?.pid ? undefined : s.unpinned ? measureTree(s.proc.pid) : measureCore(pin.pinned ? pin.server : undefined, s.proc.pid);
  const r = await roundOnly(s, opts);
  const core = done?.();
  // Server CPU time per token: unlike tokens/s it hardly moves when other processes share the core.
  const cpuUsPerToken = core && r.requests ? Math.round((core.serverCpuMs * 1000) / r.requests) : undefined;
  return { ...r, core, cpuUsPerToken };
}

async function roundOnly(s, { connections = S.connections, seconds, label = s.id, latency = true } = {}) {
  if (s.door === "http") {
    if (!machine.tools.wrk) {
      const r = await nodeHttpRound({ url: s.url, authorization: s.authorization, body: S.httpBody, connections, seconds, label });
      return { rps: r.rps, requests: r.requests };
    }
    const r = await wrkRound({ url: s.url, script: s.script, connections, seconds, cpus: pin.load, label });
    return { rps: r.rps, requests: r.requests, p50: r.latencyMs.p50, p99: r.latencyMs.p99 };
  }
  if (!machine.tools.h2load) {
    const r = await nodeGrpcRound({ baseUrl: s.base, path: s.path, frame: s.frame, connections, seconds, label });
    return { rps: r.rps, requests: r.requests };
  }
  // Counted rounds sized from the last measured rate, so a round lasts about `seconds`.
  const est = s.estRps?.[connections] ?? (connections === 1 ? 300 : 1000);
  const n = Math.max(connections * 4, Math.min(5_000_000, Math.round(est * seconds)));
  const logFile = latency ? join(work, `${s.id}-${Date.now()}.log`) : undefined;
  const r = await h2loadRound({
    url: s.base + s.path,
    dataFile: s.frameFile,
    headers: ["content-type: application/grpc", "te: trailers"],
    connections,
    requests: n,
    cpus: pin.load,
    logFile,
    label,
    maxSeconds: Math.max(60, seconds * 8),
  });
  assertH2loadClean(r, { label, replyDataBytes: s.replyDataBytes });
  s.estRps = { ...s.estRps, [connections]: r.rps };
  const l = logFile ? latencyFromLog(logFile) : {};
  if (logFile) rmSync(logFile, { force: true });
  return { rps: r.rps, requests: r.total, p50: l.p50, p99: l.p99 };
}

/** The token request's form body as a file, for h2load -d (written once). */
let bodyFileWritten;
function formBodyFile() {
  if (!bodyFileWritten) {
    bodyFileWritten = join(work, "form.txt");
    writeFileSync(bodyFileWritten, S.httpBody);
  }
  return bodyFileWritten;
}

/**
 * Latency at 50 connections under a fixed offered load (S.pacedRate tokens/s in all, spread
 * over the connections with h2load --rps): what callers see when the server is not saturated.
 * Every answer must be a 2xx (and for gRPC carry a token).
 */
async function pacedRound(s) {
  const requests = S.pacedRate * S.pacedSeconds;
  const logFile = join(work, `${s.id}-paced-${Date.now()}.log`);
  const common = { connections: S.connections, requests, cpus: pin.load, rpsPerConnection: S.pacedRate / S.connections, logFile, label: `${s.id} paced`, maxSeconds: S.pacedSeconds * 8 + 30 };
  let r;
  if (s.door === "http") {
    r = await h2loadRound({ ...common, url: s.url, dataFile: formBodyFile(), h1: true, headers: [`authorization: ${s.authorization}`, "content-type: application/x-www-form-urlencoded"] });
    assertH2loadClean(r, { label: common.label });
  } else {
    r = await h2loadRound({ ...common, url: s.base + s.path, dataFile: s.frameFile, headers: ["content-type: application/grpc", "te: trailers"] });
    assertH2loadClean(r, { label: common.label, replyDataBytes: s.replyDataBytes });
  }
  const l = latencyFromLog(logFile);
  rmSync(logFile, { force: true });
  return { rate: S.pacedRate, rps: r.rps, p50: l.p50, p99: l.p99 };
}

/** Warm-up (also sizes the counted gRPC rounds); failures count like round failures. */
async function warm(s, seconds) {
  if (s.door === "grpc" && machine.tools.h2load) await round(s, { seconds: 0.0001, latency: false, label: `${s.id} probe` });
  if (seconds > 0) await round(s, { seconds, latency: false, label: `${s.id} warm-up` });
}

/** Interleaved rounds over subjects: round 1 of each, round 2 of each ... A failing subject stops there. */
// A round during which other processes or the hypervisor took more than this share of the
// server's core measures the machine, not the server.
const NOISY_PCT = 5;
const noisy = (r) => r.core?.otherPct !== undefined && r.core.otherPct + r.core.stealPct > NOISY_PCT;
const MAX_EXTRA_PASSES = quick ? 0 : 1;

/**
 * Interleaved rounds over subjects: round 1 of each, round 2 of each ... Then, for a subject
 * with fewer than `count` quiet rounds, an extra pass. A failing subject stops there.
 */
async function rounds(subjects, { count, seconds, what }) {
  const one = async (s, label) => {
    try {
      const r = await round(s, { seconds, label: `${s.id} ${label}` });
      r.noisy = noisy(r);
      s.rounds.push(r);
      const c = r.core?.serverPct !== undefined ? `; ${r.cpuUsPerToken} µs server CPU/token; server core: server ${r.core.serverPct}%, others ${r.core.otherPct}%, steal ${r.core.stealPct}%, idle ${r.core.idlePct}%${r.noisy ? " NOISY" : ""}` : "";
      log(`  [${elapsed()}] ${what} ${label} ${s.id}: ${Math.round(r.rps)} tokens/s, p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms${c}`);
    } catch (err) {
      s.failure = err.message;
      fail(s.title, err);
    }
  };
  for (let i = 0; i < count; i++) for (const s of subjects) if (!s.failure) await one(s, `round ${i + 1}/${count}`);
  for (let extra = 1; extra <= MAX_EXTRA_PASSES; extra++) {
    const short = subjects.filter((s) => !s.failure && s.rounds.filter((r) => !r.noisy).length < count);
    if (short.length === 0) break;
    for (const s of short) await one(s, `extra round ${extra} (earlier rounds were noisy)`);
  }
}
const fmt = (x) => (typeof x === "number" ? x.toFixed(2) : "n/a");

/**
 * A subject's figures over its rounds. Noisy rounds stay in `rounds` (and the JSON) but the
 * medians use the quiet ones when there are at least two of them.
 */
function finish(s) {
  const quiet = s.rounds.filter((r) => !r.noisy);
  const used = quiet.length >= 2 ? quiet : s.rounds;
  return {
    id: s.id,
    title: s.title,
    door: s.door,
    generator: s.door === "http" ? (machine.tools.wrk ? "wrk" : "node") : machine.tools.h2load ? "h2load (h2c)" : "node http2",
    rounds: s.rounds,
    roundCount: used.length,
    noisyRoundsLeftOut: s.rounds.length - used.length,
    rps: spread(used, (r) => r.rps),
    p50: spread(used, (r) => r.p50),
    p99: spread(used, (r) => r.p99),
    c1: s.c1,
    paced: s.paced,
    cpuUsPerToken: spread(used, (r) => r.cpuUsPerToken),
    serverCorePct: spread(used, (r) => r.core?.serverPct),
    othersOnServerCorePct: spread(used, (r) => r.core?.otherPct),
    stealOnServerCorePct: spread(used, (r) => r.core?.stealPct),
    peakRssKb: s.peakRssKb,
    failure: s.failure,
  };
}

// ---------------------------------------------------------------- subjects

const peerJwk = (() => {
  const k = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
  return { ...k, alg: "ES256", kid: "bench-peer-es256" };
})();

function httpSubject(id, title, srv, path, cred, verify) {
  const authorization = basicAuthorization(cred.clientId, cred.clientSecret);
  const script = writeWrkScript(join(work, `${id}.lua`), { path, body: S.httpBody, authorizations: [authorization] });
  return { id, title, door: "http", proc: srv.proc, base: srv.base, url: srv.base + path, path, authorization, script, verify, rounds: [] };
}

function grpcSubject(id, title, srv, cred, verify) {
  const frame = issueTokenFrame({ clientId: cred.clientId, clientSecret: cred.clientSecret });
  const frameFile = join(work, `${id}.grpc`);
  writeFileSync(frameFile, frame);
  return { id, title, door: "grpc", proc: srv.proc, base: srv.base, path: "/tessera.v1.TokenService/IssueToken", frame, frameFile, verify, rounds: [] };
}

async function check(s) {
  if (s.door === "http") {
    await checkHttpToken(s.url, { authorization: s.authorization, body: S.httpBody, verify: s.verify });
  } else {
    const c = await checkGrpcToken(s.base, s.frame, s.verify);
    s.replyDataBytes = c.replyDataBytes;
  }
  log(`  check ${s.id}: 200 and a token that verifies with jose (${s.verify.alg}, typ at+jwt, iss, aud, client_id)`);
}

const verifyFor = (label, srv, jwks, clientId) => ({ label, jwks, issuer: srv.issuer, audience: AUDIENCE, alg: "ES256", clientId });

// ---------------------------------------------------------------- setup

/** Which code is measured: the commit, uncommitted changes, and when dist/ was built. */
function describeSource() {
  const git = (...args) => spawnSync("git", args, { cwd: ROOT, encoding: "utf8", timeout: 10_000 }).stdout?.trim();
  const newest = (dir) => {
    let t = 0;
    for (const f of readdirSync(join(ROOT, dir), { recursive: true })) t = Math.max(t, statSync(join(ROOT, dir, f)).mtimeMs);
    return t;
  };
  const distMs = newest("dist");
  const srcMs = Math.max(newest("src"), newest("gen"));
  const dirty = (git("status", "--porcelain", "--", "src", "gen", "proto") ?? "").split("\n").filter(Boolean).length;
  return {
    commit: git("rev-parse", "--short", "HEAD"),
    uncommittedFiles: dirty,
    distBuiltAt: new Date(distMs).toISOString(),
    distStale: srcMs > distMs,
  };
}

const R = {
  mode: quick ? "quick" : "full",
  source: describeSource(),
  startedAt: new Date(t0).toISOString(),
  machine,
  pinning: pin,
  calibration,
  settings: S,
  features: {},
  failures,
};

const template = join(work, "template.db");
log(`\n[${elapsed()}] setup: tessera bootstrap + benchmark client (scopes ${SCOPES.join(" ")}, audience ${AUDIENCE}) in ${work}`);
const creds = await makeMainDb(RUN_ROOT, template);
const copyDb = (name) => {
  const f = join(work, `${name}.db`);
  copyFileSync(template, f);
  return f;
};
const env = (extra = {}) => ({ BENCH_CLIENT_ID: creds.bench.clientId, BENCH_CLIENT_SECRET: creds.bench.clientSecret, ...extra });

// ---------------------------------------------------------------- main phase

async function mainPhase() {
  log(`\n[${elapsed()}] main: Tessera HTTP, Tessera gRPC, node-oidc-provider, ceiling`);
  const [th, tg, op, ce] = await Promise.all([
    startTessera(RUN_ROOT, "tessera (http)", copyDb("main-http"), { cpus: pin.server }),
    startTessera(RUN_ROOT, "tessera (grpc)", copyDb("main-grpc"), { cpus: pin.server }),
    startPeer(RUN_ROOT, "node-oidc-provider", "oidc-provider.mjs", {
      cpus: pin.server,
      readyPath: "/.well-known/openid-configuration",
      env: { BENCH_PRIVATE_JWK: JSON.stringify(peerJwk), BENCH_AUDIENCE: AUDIENCE, ...env() },
    }),
    startPeer(RUN_ROOT, "ceiling", "ceiling.mjs", { cpus: pin.server, env: { BENCH_PRIVATE_JWK: JSON.stringify(peerJwk), BENCH_AUDIENCE: AUDIENCE, ...env() } }),
  ]);
  const b = creds.bench;
  const subjects = [
    httpSubject("tessera-http", "Tessera POST /oauth/token", th, "/oauth/token", b, verifyFor("tessera-http", th, th.jwks, b.clientId)),
    grpcSubject("tessera-grpc", "Tessera gRPC IssueToken (h2c)", tg, b, verifyFor("tessera-grpc", tg, tg.jwks, b.clientId)),
    httpSubject("oidc-provider", "node-oidc-provider 9 POST /token (peer)", op, "/token", b, verifyFor("oidc-provider", op, publicJwks(peerJwk), b.clientId)),
    httpSubject("ceiling", "ceiling: node:http + SHA-256 + node:crypto ES256", ce, "/oauth/token", b, verifyFor("ceiling", ce, publicJwks(peerJwk), b.clientId)),
  ];
  await detectFeatures(th);
  for (const s of subjects) {
    try {
      await check(s);
    } catch (err) {
      s.failure = err.message;
      fail(s.title, err);
    }
  }
  if (quick) await negativeChecks(subjects);
  for (const s of subjects) {
    if (s.failure) continue;
    try {
      await warm(s, S.warmupSeconds);
    } catch (err) {
      s.failure = err.message;
      fail(`${s.title} warm-up`, err);
    }
  }
  await rounds(subjects, { count: S.rounds, seconds: S.seconds, what: "main" });
  if (S.c1Seconds > 0) {
    for (const s of subjects) {
      if (s.failure) continue;
      try {
        if (s.door === "grpc") await round(s, { connections: 1, seconds: 1, latency: false, label: `${s.id} c1 probe` });
        const r = await round(s, { connections: 1, seconds: S.c1Seconds, label: `${s.id} concurrency 1` });
        s.c1 = { rps: r.rps, p50: r.p50, p99: r.p99 };
        log(`  [${elapsed()}] concurrency 1 ${s.id}: ${Math.round(r.rps)} tokens/s, p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms`);
      } catch (err) {
        s.failure = err.message;
        fail(`${s.title} concurrency 1`, err);
      }
    }
  }
  if (S.pacedSeconds > 0 && machine.tools.h2load) {
    for (const s of subjects) {
      if (s.failure) continue;
      try {
        s.paced = await pacedRound(s);
        log(`  [${elapsed()}] paced ${S.pacedRate}/s ${s.id}: ${Math.round(s.paced.rps)} tokens/s answered, p50 ${fmt(s.paced.p50)} ms, p99 ${fmt(s.paced.p99)} ms`);
      } catch (err) {
        s.failure = err.message;
        fail(`${s.title} paced ${S.pacedRate}/s`, err);
      }
    }
  }
  for (const s of subjects) s.peakRssKb = memOf(s.proc.pid)?.hwmKb;
  for (const srv of [th, tg, op, ce]) await stop(srv.proc);
  R.main = subjects.map(finish);
  const by = Object.fromEntries(R.main.map((s) => [s.id, s]));
  R.mainRates = Object.fromEntries(R.main.map((s) => [s.id, s.rps?.median]));
  const http = by["tessera-http"].rps?.median;
  const grpc = by["tessera-grpc"].rps?.median;
  const peer = by["oidc-provider"].rps?.median;
  const ceil = by.ceiling.rps?.median;
  const cpu = (id) => by[id].cpuUsPerToken?.median;
  if (!quick) {
    R.ratios = [
      { what: "Tessera HTTP / node-oidc-provider", goal: "≥ 2", measured: ratio(http, peer), met: ratio(http, peer) >= 2 },
      { what: "Tessera HTTP / ceiling", goal: "≥ 0.75", measured: ratio(http, ceil), met: ratio(http, ceil) >= 0.75 },
      { what: "Tessera gRPC / Tessera HTTP", goal: "≥ 0.60", measured: ratio(grpc, http), met: ratio(grpc, http) >= 0.6 },
      { what: "same, by server CPU per token: peer µs / Tessera HTTP µs", goal: "≥ 2", measured: ratio(cpu("oidc-provider"), cpu("tessera-http")), met: ratio(cpu("oidc-provider"), cpu("tessera-http")) >= 2 },
      { what: "same, by server CPU per token: ceiling µs / Tessera HTTP µs", goal: "≥ 0.75", measured: ratio(cpu("ceiling"), cpu("tessera-http")), met: ratio(cpu("ceiling"), cpu("tessera-http")) >= 0.75 },
      { what: "same, by server CPU per token: Tessera HTTP µs / gRPC µs", goal: "≥ 0.60", measured: ratio(cpu("tessera-http"), cpu("tessera-grpc")), met: ratio(cpu("tessera-http"), cpu("tessera-grpc")) >= 0.6 },
      { what: "Tessera HTTP p99 @50, saturated (ms; ceiling: " + round2(by.ceiling.p99?.median) + ")", goal: "< 10", measured: round2(by["tessera-http"].p99?.median), met: by["tessera-http"].p99?.median < 10 },
      { what: "Tessera gRPC p99 @50, saturated (ms)", goal: "< 10", measured: round2(by["tessera-grpc"].p99?.median), met: by["tessera-grpc"].p99?.median < 10 },
      ...(by["tessera-http"].paced
        ? [
            { what: `Tessera HTTP p99 @50, paced at ${S.pacedRate} tokens/s (ms; ceiling: ${round2(by.ceiling.paced?.p99)}, peer: ${round2(by["oidc-provider"].paced?.p99)})`, goal: "< 10", measured: round2(by["tessera-http"].paced.p99), met: by["tessera-http"].paced.p99 < 10 },
            { what: `Tessera gRPC p99 @50, paced at ${S.pacedRate} tokens/s (ms)`, goal: "< 10", measured: round2(by["tessera-grpc"].paced?.p99), met: by["tessera-grpc"].paced?.p99 < 10 },
          ]
        : []),
    ];
  }
}
const round2 = (x) => (typeof x === "number" ? Math.round(100 * x) / 100 : undefined);

/** --quick proves the harness catches wrong answers: rounds with a wrong secret must fail. */
async function negativeChecks(subjects) {
  for (const id of ["ceiling", "tessera-grpc"]) {
    const s = subjects.find((x) => x.id === id);
    if (!s || s.failure) continue;
    // An id of its own: Tessera throttles a client id after failed authentications, and the
    // benchmark client must stay usable.
    const [id0, secret0] = ["bench-self-test-unknown-client", "wrong-secret"];
    const bad = s.door === "http"
      ? { ...s, authorization: basicAuthorization(id0, secret0), script: writeWrkScript(join(work, "bad.lua"), { path: s.path, body: S.httpBody, authorizations: [basicAuthorization(id0, secret0)] }) }
      : { ...s, frame: issueTokenFrame({ clientId: id0, clientSecret: secret0 }), frameFile: join(work, "bad.grpc"), estRps: { 50: 500 } };
    if (bad.door === "grpc") writeFileSync(bad.frameFile, bad.frame);
    let caught = false;
    try {
      await round(bad, { seconds: bad.door === "http" ? 1 : 0.3, latency: false, label: `${id} with a wrong secret (must fail)` });
    } catch (err) {
      caught = /ROUND FAILED/.test(err.message);
    }
    if (!caught) fail("harness self-test", new Error(`a ${s.door} round with a wrong secret against ${id} was not reported as failed`));
    else log(`  self-test: a ${s.door} round with a wrong secret against ${id} fails loudly, as it must`);
  }
}

// ---------------------------------------------------------------- feature detection

async function detectFeatures(tessera) {
  // Revocation: RFC 7009 endpoint. A 404 means the build has none.
  const tok = await postForm(`${tessera.base}/oauth/token`, { authorization: basicAuthorization(creds.bench.clientId, creds.bench.clientSecret), body: S.httpBody });
  const rv = await postForm(`${tessera.base}/oauth/revoke`, {
    authorization: basicAuthorization(creds.bench.clientId, creds.bench.clientSecret),
    body: `token=${encodeURIComponent(tok.body?.access_token ?? "")}&token_type_hint=access_token`,
  });
  R.features.revocation =
    rv.status === 404 ? "absent (POST /oauth/revoke answers 404)" : rv.status === 200 ? "present (POST /oauth/revoke revoked a real token: 200)" : `present but answered ${rv.status}: ${rv.text.slice(0, 200)}`;
  R.hasRevocation = rv.status === 200;
  const help = await run("tessera serve --help", process.execPath, [join(RUN_ROOT, "bin/tessera"), "serve", "--help"], { timeoutMs: 20_000 });
  R.hasWorkers = /--workers/.test(help.stdout);
  R.features.workers = R.hasWorkers ? "present (`tessera serve --help` lists --workers)" : "absent (`tessera serve --help` has no --workers)";
  log(`  features: revocation ${R.features.revocation}; workers ${R.features.workers}`);
}

// ---------------------------------------------------------------- gRPC server comparison

async function frameworksPhase() {
  log(`\n[${elapsed()}] frameworks: the same IssueToken behind Tessera, bare connect-node, grpc-js, and node:http2 alone`);
  const db = copyDb("frameworks");
  const tg = await startTessera(RUN_ROOT, "tessera (grpc, frameworks)", db, { cpus: pin.server });
  const peers = [
    ["connect-core", "bare connect-node + Tessera core (no sniffing, no interceptors)", {}],
    ["grpcjs-core", "grpc-js server + Tessera core (bench/peers/grpcjs-issue.mjs)", {}],
    ["connect-trivial", "bare connect-node, constant reply (framework floor)", { BENCH_TRIVIAL: "1" }],
    ["grpcjs-trivial", "grpc-js, constant reply (framework floor)", { BENCH_TRIVIAL: "1" }],
    ["h2-fastpath", "node:http2 stream API + protobuf-es + Tessera core (a fast-path sketch)", {}],
    ["h2-floor", "node:http2 stream API, constant reply (no framework)", {}],
  ];
  const script = { "connect-core": "connect-issue.mjs", "connect-trivial": "connect-issue.mjs", "grpcjs-core": "grpcjs-issue.mjs", "grpcjs-trivial": "grpcjs-issue.mjs", "h2-fastpath": "h2-fastpath.mjs", "h2-floor": "h2-floor.mjs" };
  const servers = [tg];
  const subjects = [grpcSubject("tessera-grpc", "Tessera gRPC IssueToken (reference)", tg, creds.bench, verifyFor("tessera-grpc", tg, tg.jwks, creds.bench.clientId))];
  for (const [id, title, extra] of peers) {
    try {
      const srv = await startPeer(RUN_ROOT, id, script[id], { cpus: pin.server, h2cOnly: true, env: env({ BENCH_DB: db, ...extra }) });
      servers.push(srv);
      subjects.push(grpcSubject(id, title, srv, creds.bench, verifyFor(id, srv, tg.jwks, creds.bench.clientId)));
    } catch (err) {
      fail(title, err);
    }
  }
  for (const s of subjects) {
    try {
      await check(s);
      await warm(s, 2);
    } catch (err) {
      s.failure = err.message;
      fail(s.title, err);
    }
  }
  await rounds(subjects, { count: S.rounds, seconds: S.frameworkSeconds, what: "frameworks" });
  for (const s of subjects) s.peakRssKb = memOf(s.proc.pid)?.hwmKb;
  for (const srv of servers) await stop(srv.proc);
  R.frameworks = subjects.map(finish);
  R.frameworkRates = Object.fromEntries(R.frameworks.map((s) => [s.id, s.rps?.median]));
}

// ---------------------------------------------------------------- scaling

/**
 * Before the spread row is timed, one wrk run long enough to ask for a token as every seeded
 * client once (the script starts at the first client on every run), so the rounds measure a
 * server that has seen its clients, not the one-off filling of its client cache. That first
 * pass is reported in the row's setup column.
 */
async function coverEveryClient(s, count) {
  const probe = await round(s, { seconds: 3, latency: false, label: `${s.id} probe` });
  // Cold requests are slower than the probe's (SQLite reads, a growing heap): twice the time.
  const seconds = Math.min(120, Math.ceil((2 * count) / Math.max(1, probe.rps)));
  const r = await round(s, { seconds, latency: false, label: `${s.id} first pass over all clients` });
  const covered = r.requests >= count;
  s.setup += `; first pass over all ${count} (cold client cache, not in the medians): ${Math.round(r.rps)} tokens/s, ${r.cpuUsPerToken} µs CPU/token${covered ? "" : ` (covered only ${r.requests})`}`;
  log(`  [${elapsed()}] ${s.id}: first pass over all ${count} clients in ${seconds} s: ${Math.round(r.rps)} tokens/s, ${r.cpuUsPerToken} µs/token${covered ? "" : `; only ${r.requests} requests`}`);
}

async function scalingPhase() {
  log(`\n[${elapsed()}] scaling: 1 vs ${S.clients} clients, 0 vs ${S.revoked} revoked tokens`);
  const auth = (c) => basicAuthorization(c.clientId, c.clientSecret);
  log(`  seeding ${S.clients} clients through ClientAdminCore + SqliteStorage (dist/)...`);
  const seeded = await seedClients(template, join(work, "clients.db"), S.clients, { log });
  log(`  seeded in ${seeded.seconds.toFixed(1)} s; database ${Math.round(seeded.bytes / 2 ** 20)} MiB`);
  const servers = [];
  const subjects = [];
  const base = await startTessera(RUN_ROOT, "tessera (1 client)", copyDb("scale-base"), { cpus: pin.server });
  servers.push(base);
  const many = await startTessera(RUN_ROOT, `tessera (${S.clients} clients)`, join(work, "clients.db"), { cpus: pin.server });
  servers.push(many);
  const mk = (id, title, srv, list, setup) => {
    const s = httpSubject(id, title, srv, "/oauth/token", list[0], verifyFor(id, srv, srv.jwks, list[0].clientId));
    s.script = writeWrkScript(join(work, `${id}.lua`), { path: "/oauth/token", body: S.httpBody, authorizations: list.map(auth) });
    s.setup = setup;
    return s;
  };
  subjects.push(mk("base", "1 client registered (+ the admin client), 0 revoked", base, [creds.bench], "template database"));
  subjects.push(mk("clients-hot", `${S.clients} clients registered, load from 1 client`, many, [creds.bench], `seeded in ${seeded.seconds.toFixed(0)} s`));
  subjects.push(mk("clients-spread", `${S.clients} clients registered, load spread over all ${S.clients}`, many, seeded.creds, "round-robin over every seeded client"));
  let revokedNa;
  if (R.hasRevocation) {
    try {
      const rv = await seedRevocations(template, join(work, "revoked.db"), S.revoked, creds.bench.clientId);
      const srv = await startTessera(RUN_ROOT, `tessera (${S.revoked} revoked)`, join(work, "revoked.db"), { cpus: pin.server });
      servers.push(srv);
      subjects.push(mk("revoked", `1 client, ${S.revoked} revoked tokens on the deny-list`, srv, [creds.bench], `storage.revokeToken x ${S.revoked} in ${rv.seconds.toFixed(0)} s`));
    } catch (err) {
      fail("revoked-tokens row", err);
      revokedNa = `FAILED: ${err.message}`;
    }
  } else revokedNa = "n/a (feature not present: POST /oauth/revoke answers 404)";
  for (const s of subjects) {
    try {
      await check(s);
      await warm(s, 3);
      if (s.id === "clients-spread") await coverEveryClient(s, seeded.creds.length);
    } catch (err) {
      s.failure = err.message;
      fail(s.title, err);
    }
  }
  await rounds(subjects, { count: S.scalingRounds, seconds: S.scalingSeconds, what: "scaling" });
  // Hot and spread rows share one server: its peak RSS shows in both.
  for (const s of subjects) s.peakRssKb = memOf(s.proc.pid)?.hwmKb;
  for (const srv of servers) await stop(srv.proc);
  const rows = subjects.map((s) => ({ ...finish(s), setup: s.setup }));
  const b = rows[0].rps?.median;
  const bc = rows[0].cpuUsPerToken?.median;
  const signed = (q) => (q === undefined ? "n/a" : `${q >= 1 ? "+" : ""}${Math.round((q - 1) * 1000) / 10}%`);
  for (const r of rows.slice(1)) {
    r.vsBaseline = signed(ratio(r.rps?.median, b));
    r.cpuVsBaseline = signed(ratio(r.cpuUsPerToken?.median, bc));
    if (r.failure) r.na = `FAILED: ${r.failure.split("\n")[0].slice(0, 120)}`;
  }
  if (revokedNa) rows.push({ title: `1 client, ${S.revoked} revoked tokens on the deny-list`, na: revokedNa });
  R.scaling = { rows };
  const cost = (id) => {
    const r = rows.find((x) => x.id === id);
    return r?.rps?.median && b ? 1 - r.rps.median / b : undefined;
  };
  const cpuCost = (id) => {
    const r = rows.find((x) => x.id === id);
    return r?.cpuUsPerToken?.median && bc ? r.cpuUsPerToken.median / bc - 1 : undefined;
  };
  R.ratios?.push(
    { what: `${S.clients} clients (load from 1): throughput cost`, goal: "< 10%", measured: pctText(cost("clients-hot")), met: cost("clients-hot") < 0.1 },
    { what: `${S.clients} clients (load over all): throughput cost`, goal: "< 10%", measured: pctText(cost("clients-spread")), met: cost("clients-spread") < 0.1 },
    { what: `${S.revoked} revoked tokens: throughput cost`, goal: "< 10%", measured: revokedNa ?? pctText(cost("revoked")), met: revokedNa ? undefined : cost("revoked") < 0.1 },
    { what: `${S.clients} clients (load from 1): extra server CPU per token`, goal: "< 10%", measured: pctText(cpuCost("clients-hot")), met: cpuCost("clients-hot") < 0.1 },
    { what: `${S.clients} clients (load over all): extra server CPU per token`, goal: "< 10%", measured: pctText(cpuCost("clients-spread")), met: cpuCost("clients-spread") < 0.1 },
    { what: `${S.revoked} revoked tokens: extra server CPU per token`, goal: "< 10%", measured: revokedNa ?? pctText(cpuCost("revoked")), met: revokedNa ? undefined : cpuCost("revoked") < 0.1 },
  );
}
const pctText = (x) => (typeof x === "number" ? (x < 0 ? `none (${Math.round(-x * 1000) / 10}% better: noise)` : `${Math.round(x * 1000) / 10}%`) : "n/a");

// ---------------------------------------------------------------- workers

async function workersPhase() {
  if (!R.hasWorkers) {
    R.workers = { na: "n/a (feature not present: `tessera serve --help` has no --workers)" };
    R.ratios?.push({ what: "--workers 2 / --workers 1", goal: "> 1 (more cores used)", measured: "n/a (feature not present)", met: undefined });
    return;
  }
  log(`\n[${elapsed()}] workers: tessera serve --workers 1 vs 2 (nothing pinned: server and wrk share both cores)`);
  const db = copyDb("workers");
  const subjects = [];
  const servers = [];
  for (const n of [1, 2]) {
    try {
      const srv = await startTessera(RUN_ROOT, `tessera --workers ${n}`, db, { cpus: pin.all, args: ["--workers", String(n)] });
      servers.push(srv);
      const w = httpSubject(`workers-${n}`, `--workers ${n}`, srv, "/oauth/token", creds.bench, verifyFor(`workers-${n}`, srv, srv.jwks, creds.bench.clientId));
      w.unpinned = true;
      subjects.push(w);
    } catch (err) {
      fail(`--workers ${n}`, err);
    }
  }
  const savedLoad = pin.load;
  pin.load = pin.all; // the load generator may use every core here, as the server does
  try {
    for (const s of subjects) {
      try {
        await check(s);
        await warm(s, 3);
      } catch (err) {
        s.failure = err.message;
        fail(s.title, err);
      }
    }
    // One server at a time would be fairer to each, but both idle servers cost nothing measurable.
    await rounds(subjects, { count: S.rounds, seconds: S.seconds, what: "workers" });
  } finally {
    pin.load = savedLoad;
  }
  for (const s of subjects) s.peakRssKb = treeMem(s.proc.pid).hwmKb;
  for (const srv of servers) await stop(srv.proc, { graceMs: 10_000 });
  const rows = subjects.map(finish);
  R.workers = { note: "Server and wrk both unpinned on this 2-core machine: the load generator competes with the second worker, so this understates what a second core gives a server on its own machine.", rows };
  R.ratios?.push({ what: "--workers 2 / --workers 1", goal: "> 1 (more cores used)", measured: ratio(rows[1]?.rps?.median, rows[0]?.rps?.median), met: ratio(rows[1]?.rps?.median, rows[0]?.rps?.median) > 1 });
}

// ---------------------------------------------------------------- profiles

async function profilePhase() {
  log(`\n[${elapsed()}] profiles: node --cpu-prof during an HTTP round and a gRPC round of Tessera, and of three peers for comparison`);
  const dir = join(resultsDir, `${stamp}-profiles`);
  mkdirSync(dir, { recursive: true });
  R.profiles = { dir, items: [] };
  const plans = [
    { id: "tessera-http", title: "Tessera HTTP /oauth/token", door: "http" },
    { id: "tessera-grpc", title: "Tessera gRPC IssueToken", door: "grpc" },
    { id: "grpcjs-core", title: "grpc-js + Tessera core (throwaway peer)", door: "grpc", peer: "grpcjs-issue.mjs" },
    { id: "h2-fastpath", title: "node:http2 fast-path sketch + Tessera core (throwaway peer)", door: "grpc", peer: "h2-fastpath.mjs" },
    { id: "ceiling", title: "ceiling (for comparison with Tessera HTTP)", door: "http", peer: "ceiling.mjs", path: "/oauth/token" },
  ];
  for (const p of plans) {
    const profDir = join(work, `prof-${p.id}`);
    const nodeArgs = ["--cpu-prof", `--cpu-prof-dir=${profDir}`, "--cpu-prof-interval=250"];
    let srv;
    try {
      if (p.id === "ceiling") {
        srv = await startPeer(RUN_ROOT, p.id, p.peer, { cpus: pin.server, nodeArgs, env: { BENCH_PRIVATE_JWK: JSON.stringify(peerJwk), BENCH_AUDIENCE: AUDIENCE, ...env() } });
        srv.jwks = publicJwks(peerJwk);
      } else if (p.peer) {
        const db = copyDb(`prof-${p.id}`);
        const t = await startTessera(RUN_ROOT, "tessera (key setup)", db, { cpus: pin.server }); // creates the signing key
        const jwks = t.jwks;
        await stop(t.proc);
        srv = await startPeer(RUN_ROOT, p.id, p.peer, { cpus: pin.server, h2cOnly: true, nodeArgs, env: env({ BENCH_DB: db }) });
        srv.jwks = jwks;
      } else {
        srv = await startTessera(RUN_ROOT, `tessera (profiled ${p.door})`, copyDb(`prof-${p.id}`), { cpus: pin.server, nodeArgs });
      }
      const s =
        p.door === "http"
          ? httpSubject(p.id, p.title, srv, "/oauth/token", creds.bench, verifyFor(p.id, srv, srv.jwks, creds.bench.clientId))
          : grpcSubject(p.id, p.title, srv, creds.bench, verifyFor(p.id, srv, srv.jwks, creds.bench.clientId));
      await check(s);
      if (s.door === "grpc") {
        s.estRps = { 50: (R.frameworkRates?.[p.id] ?? R.mainRates?.[p.id] ?? 1000) * 0.8 };
      }
      const r = await round(s, { seconds: S.profileSeconds, latency: false, label: `${p.id} profiled` });
      const requests = 1 + r.requests;
      // The profile covers the whole process life; so does this CPU time (startup, check, round).
      const cpuMs = processCpuMs(srv.proc.pid);
      await stop(srv.proc, { signal: "SIGINT", graceMs: 20_000 });
      const file = readdirSync(profDir).find((f) => f.endsWith(".cpuprofile"));
      if (!file) throw new Error(`no .cpuprofile written in ${profDir}`);
      const dest = join(dir, `${p.id}.cpuprofile`);
      copyFileSync(join(profDir, file), dest);
      const summary = summarise(JSON.parse(readFileSync(dest, "utf8")), { requests, cpuMs, top: 30 });
      R.profiles.items.push({ id: p.id, title: `${p.title}: ${Math.round(r.rps)} tokens/s under the profiler`, file: dest, summary });
      log(`  [${elapsed()}] profiled ${p.id}: ${requests} requests, ${summary.busyUsPerRequest} µs CPU per request`);
    } catch (err) {
      fail(`profile ${p.id}`, err);
      R.profiles.items.push({ id: p.id, title: p.title, failure: err.message.split("\n")[0] });
      if (srv) await stop(srv.proc);
    }
  }
}

// ---------------------------------------------------------------- a million tokens

async function millionPhase() {
  log(`\n[${elapsed()}] ${S.tokens} tokens through one server: RSS and database size before/after`);
  const db = copyDb("million");
  const srv = await startTessera(RUN_ROOT, "tessera (million)", db, { cpus: pin.server });
  const bodyFile = formBodyFile();
  const h2 = (n, label, maxSeconds) =>
    h2loadRound({
      url: `${srv.base}/oauth/token`,
      dataFile: bodyFile,
      headers: [`authorization: ${basicAuthorization(creds.bench.clientId, creds.bench.clientSecret)}`, "content-type: application/x-www-form-urlencoded"],
      connections: S.connections,
      requests: n,
      cpus: pin.load,
      h1: true,
      label,
      maxSeconds,
    });
  try {
    const s = httpSubject("million", "million", srv, "/oauth/token", creds.bench, verifyFor("million", srv, srv.jwks, creds.bench.clientId));
    await check(s);
    const warmN = 20_000;
    const w = await h2(warmN, "million warm-up", 120);
    assertH2loadClean(w, { label: "million warm-up" });
    await sleep(500);
    const before = { issued: warmN + 1, ...memOf(srv.proc.pid), files: dbFiles(db) };
    const t = Date.now();
    const r = await h2(S.tokens, `${S.tokens} tokens`, 900);
    const seconds = (Date.now() - t) / 1000;
    assertH2loadClean(r, { label: `${S.tokens} tokens` });
    await sleep(1000);
    const after = { issued: before.issued + r.succeeded, ...memOf(srv.proc.pid), files: dbFiles(db) };
    R.million = { requested: S.tokens, seconds: r.seconds ?? seconds, rps: r.rps, before, after };
    const grew = after.files.db + after.files.wal - (before.files.db + before.files.wal);
    R.ratios?.push(
      { what: `server RSS after ${S.tokens} tokens (MB)`, goal: "< 150", measured: Math.round(after.rssKb / 1024), met: after.rssKb / 1024 < 150 },
      { what: `database growth over ${S.tokens} tokens (db + wal)`, goal: "none (< 1 MiB)", measured: `${Math.round(grew / 1024)} KiB`, met: grew < 2 ** 20 },
    );
    log(`  [${elapsed()}] ${r.succeeded} tokens at ${Math.round(r.rps)}/s; RSS ${Math.round(before.rssKb / 1024)} -> ${Math.round(after.rssKb / 1024)} MB; db+wal ${before.files.db + before.files.wal} -> ${after.files.db + after.files.wal} bytes`);
  } catch (err) {
    fail("million tokens", err);
    R.million = { requested: S.tokens, failure: err.message.split("\n")[0] };
  } finally {
    await stop(srv.proc);
  }
}

// ---------------------------------------------------------------- run

const phases = { main: mainPhase, frameworks: frameworksPhase, scaling: scalingPhase, workers: workersPhase, profile: profilePhase, million: millionPhase };
for (const name of PHASES) {
  if (!enabled(name)) continue;
  try {
    await phases[name]();
  } catch (err) {
    fail(`phase ${name}`, err);
  }
  await stopAll(); // nothing from one phase runs into the next
}

clearTimeout(watchdog);
calibration.end = calibrate(pin.server);
R.finishedAt = new Date().toISOString();
R.durationSeconds = (Date.now() - t0) / 1000;
const base = join(resultsDir, `${stamp}-${R.mode}`);
R.jsonFile = `${base}.json`;
writeFileSync(R.jsonFile, JSON.stringify(R, null, 2) + "\n");
copyFileSync(R.jsonFile, join(resultsDir, `latest-${R.mode}.json`));
const md = markdownReport(R);
writeFileSync(`${base}.md`, md);
process.stdout.write(md);
await cleanup();
if (quick) {
  const checked = R.main?.filter((s) => !s.failure).length ?? 0;
  const line = failures.length
    ? `BENCH QUICK: FAIL (${failures.length} problem(s); first: ${failures[0].slice(0, 300)})`
    : `BENCH QUICK: PASS (${checked} targets answered 200 with tokens that verify, every round clean, wrong answers detected; ${R.durationSeconds.toFixed(1)} s)`;
  process.stdout.write(line + "\n");
}
process.exit(failures.length ? 1 : 0);
