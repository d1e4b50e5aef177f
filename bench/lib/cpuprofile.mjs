// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function, time per component
// (connect-node, protobuf, Tessera's own code, signing, SQLite, node http/http2, streams, GC ...),
// and inclusive time of the frames that matter. Also a CLI:
//   node bench/lib/cpuprofile.mjs FILE.cpuprofile [requests]
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const SPECIAL = new Set(["(idle)", "(program)", "(garbage collector)", "(root)"]);

/**
 * Which component a JS frame belongs to, from its script URL; undefined for a native frame.
 * @param {string} url
 * @param {string} fn
 */
function component(url, fn) {
  if (fn === "(garbage collector)") return "GC";
  if (fn === "(program)") return "V8/native (program)";
  if (fn === "(idle)") return "idle";
  if (!url) return undefined;
  const u = url.replace(/^file:\/\//, "");
  if (u.includes("/node_modules/@connectrpc/")) return "connect-node / connect";
  if (u.includes("/node_modules/@bufbuild/protobuf")) return "protobuf-es";
  if (u.includes("/node_modules/@grpc/")) return "grpc-js";
  if (u.includes("/node_modules/better-sqlite3/")) return "better-sqlite3 (JS)";
  if (u.includes("/node_modules/pino") || u.includes("/node_modules/sonic-boom")) return "pino";
  if (u.includes("/node_modules/prom-client")) return "prom-client";
  if (u.includes("/node_modules/jose/")) return "jose";
  if (u.includes("/node_modules/oidc-provider/")) return "oidc-provider";
  if (/\/node_modules\/(koa|@koa|koa-[^/]+)\//.test(u)) return "koa";
  if (u.includes("/node_modules/")) return `other npm: ${(u.split("/node_modules/").pop() ?? "").split("/")[0]}`;
  const dist = /\/dist\/(src|gen)\/(.*)$/.exec(u);
  if (dist) {
    if (dist[1] === "gen") return "tessera gen/ (generated)";
    const parts = (dist[2] ?? "").split("/");
    const top = parts[0] ?? "";
    const area = parts.length > 1 ? parts.slice(0, top === "transport" || top === "storage" ? 2 : 1).join("/") : top.replace(/\.js$/, "");
    return `tessera ${area}`;
  }
  if (u.includes("/bench/")) return "bench peer code";
  if (/^node:internal\/http2|^node:http2/.test(u)) return "node http2";
  if (/^node:_http_|^node:http$|^node:internal\/http/.test(u)) return "node http/1.1";
  if (/^node:internal\/crypto|^node:crypto/.test(u)) return "node crypto";
  if (/^node:net|^node:internal\/stream_base_commons|^node:internal\/net/.test(u)) return "node net/socket";
  if (/^node:internal\/streams|^node:stream/.test(u)) return "node streams";
  if (/^node:internal\/per_context\/domexception|^node:internal\/abort_controller|^node:internal\/event_target/.test(u))
    return "node AbortSignal/DOMException/EventTarget";
  if (/^node:internal\/deps\/undici/.test(u)) return "node fetch Headers (undici)";
  if (/^node:internal\/(process\/task_queues|timers)|^node:timers|^node:events/.test(u)) return "node events/timers/ticks";
  if (/^node:internal\/url|^node:url/.test(u)) return "node url/querystring";
  if (/^node:internal\/modules|^node:internal\/bootstrap/.test(u)) return "node module loading (startup)";
  if (/^node:buffer|^node:internal\/buffer/.test(u)) return "node buffer";
  if (u.startsWith("node:")) return "node other";
  return `other: ${u.slice(-60)}`;
}

/**
 * Frames whose inclusive time tells where a token's CPU goes, the same list for every profile.
 * @type {readonly (readonly [string, RegExp])[]}
 */
const ANCHORS = [
  ["Tessera issueToken (auth + claims + signing)", /^issueToken .*dist\/src\/core\/issue-token\.js/],
  ["  authenticateClient (lookup + SHA-256 compare)", /^authenticateClient .*dist\/src\/core\/authenticate\.js/],
  ["    storage getClient (SQLite read + row mapping)", /^getClient .*dist\/src\/storage\/sqlite\/sqlite-storage\.js/],
  ["    client cache (storage/client-cache.js)", /dist\/src\/storage\/client-cache\.js/],
  ["  KeyRing.sign (claims JSON + base64url + ES256)", /^sign .*dist\/src\/keys\/key-ring\.js/],
  ["    node:crypto signOneShot (the ECDSA itself)", /^signOneShot node:internal\/crypto\/sig/],
  ["Tessera form route handler (parse, issue, answer)", /^\(anonymous\) .*dist\/src\/transport\/http\/routes\.js/],
  ["Tessera sendJson (HTTP answer)", /^sendJson .*dist\/src\/transport\/http\/respond\.js/],
  ["connect-node nodeRequestHandler (whole RPC incl. handler)", /^nodeRequestHandler .*connect-node-adapter\.js/],
  ["Tessera gRPC fast path (transport/grpc/fast-issue-token.js)", /dist\/src\/transport\/grpc\/fast-issue-token\.js/],
  ["grpc-js Server handler dispatch", /node_modules\/@grpc\/grpc-js\/build\/src\/server\.js/],
  ["node http2 sessionOnStream (stream dispatch, incl. handler)", /^sessionOnStream node:internal\/http2\/core/],
  ["node http/1.1 parserOnIncoming (request dispatch, incl. handler)", /^parserOnIncoming node:_http_server/],
  ["socket writes (writev/writeGeneric)", /^(Socket\._writev|Socket\._writeGeneric|Socket\._write) node:net/],
  ["pino (logging)", /node_modules\/pino\//],
  ["prom-client (metrics)", /node_modules\/prom-client\//],
];

/** @typedef {import("node:inspector").Profiler.Profile} CpuProfile */
/** @typedef {import("node:inspector").Profiler.ProfileNode} ProfileNode */

/**
 * A frame's name for the tables: function, file under node_modules/, dist/ or bench/, line.
 * @param {ProfileNode} n
 */
function frameKey(n) {
  const cf = n.callFrame;
  const file = cf.url ? cf.url.replace(/^file:\/\/.*\/(node_modules|dist|bench)\//, "$1/") : "";
  return `${cf.functionName || "(anonymous)"} ${file}${cf.url ? `:${cf.lineNumber + 1}` : ""}`;
}

/**
 * The call tree of a profile: each node by id, its parent, and its component (cached).
 * @param {CpuProfile} profile
 */
function callTree(profile) {
  /** @type {Map<number, ProfileNode>} */
  const byId = new Map();
  for (const n of profile.nodes) byId.set(n.id, n);
  /** @type {Map<number, number>} */
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  /** @param {number} id */
  const node = (id) => {
    const n = byId.get(id);
    if (!n) throw new Error(`the profile has no node ${id}`);
    return n;
  };
  /** @type {Map<number, string>} */
  const components = new Map();
  // A native frame (no URL) takes the component of the nearest JS caller, marked native.
  /** @param {number} id */
  const componentOf = (id) => {
    const cached = components.get(id);
    if (cached !== undefined) return cached;
    const n = node(id);
    let c = component(n.callFrame.url, n.callFrame.functionName);
    if (c === undefined) {
      let p = parent.get(id);
      let up;
      while (p !== undefined && up === undefined) {
        const pn = node(p);
        up = component(pn.callFrame.url, pn.callFrame.functionName);
        p = parent.get(p);
      }
      c = refineNative(`${up ?? "unknown"} (native: ${n.callFrame.functionName || "?"})`, n.callFrame.functionName, up);
    }
    components.set(id, c);
    return c;
  };
  return { node, parent, componentOf };
}

/**
 * Adds `dt` to `key`'s total.
 * @param {Map<string, number>} totals
 * @param {string} key
 * @param {number} dt
 */
function add(totals, key, dt) {
  totals.set(key, (totals.get(key) ?? 0) + dt);
}

/**
 * Charges one sample's time to every distinct frame on its stack (inclusive time) and to each
 * anchor that one of those frames matches, once per sample.
 * @param {ReturnType<typeof callTree>} tree
 * @param {number} id the sampled node
 * @param {number} dt
 * @param {Map<string, number>} inclusive
 * @param {Map<string, number>} anchorUs
 */
function chargeStack(tree, id, dt, inclusive, anchorUs) {
  const seen = new Set();
  const anchorsSeen = new Set();
  for (let p = /** @type {number | undefined} */ (id), depth = 0; p !== undefined && depth < 500; p = tree.parent.get(p), depth++) {
    const pn = tree.node(p);
    if (SPECIAL.has(pn.callFrame.functionName)) continue;
    const pk = frameKey(pn);
    if (seen.has(pk)) continue;
    seen.add(pk);
    add(inclusive, pk, dt);
    for (const [label, re] of ANCHORS) {
      if (!anchorsSeen.has(label) && re.test(pk)) {
        anchorsSeen.add(label);
        add(anchorUs, label, dt);
      }
    }
  }
}

/**
 * Parses a profile and attributes each sample's time (microseconds).
 * @param {CpuProfile} profile
 * @public (test/bench/parsers.test.ts)
 */
export function analyse(profile) {
  const tree = callTree(profile);
  const deltas = profile.timeDeltas ?? [];
  /** @type {Map<string, number>} */
  const self = new Map();
  /** @type {Map<string, number>} */
  const incl = new Map();
  /** @type {Map<string, number>} */
  const comps = new Map();
  /** @type {Map<string, number>} */
  const anchorUs = new Map();
  let total = 0;
  let idle = 0;
  for (const [i, id] of (profile.samples ?? []).entries()) {
    // timeDeltas[i + 1] is the time from sample i to the next one: the time sample i stands for.
    const dt = Math.max(0, deltas[i + 1] ?? 0);
    const n = tree.node(id);
    total += dt;
    if (n.callFrame.functionName === "(idle)") {
      idle += dt;
      continue;
    }
    add(self, frameKey(n), dt);
    add(comps, tree.componentOf(id), dt);
    chargeStack(tree, id, dt, incl, anchorUs);
  }
  /** @param {Map<string, number>} m */
  const sorted = (m) => [...m].sort((a, b) => b[1] - a[1]);
  return {
    totalUs: total,
    idleUs: idle,
    busyUs: total - idle,
    self: sorted(self),
    inclusive: sorted(incl),
    components: sorted(comps),
    anchorUs,
  };
}

/**
 * A better name for time spent in native code, from the JS component that called it.
 * @param {string} label
 * @param {string} fn
 * @param {string | undefined} up
 */
function refineNative(label, fn, up) {
  if (up === "node crypto") return "signing/hashing (native crypto)";
  if (/^tessera storage/.test(up ?? "") && /^(get|all|run|iterate)$/.test(fn)) return "SQLite (native, better-sqlite3)";
  if (up === "node net/socket" || up === "node streams") return "socket writes/reads (native)";
  if (up === "node http2") return "node http2 (native nghttp2)";
  if (up === "node http/1.1") return "node http/1.1 (native parser)";
  return label;
}

/**
 * A compact, JSON-friendly summary; `requests` (handled during the profile) adds µs per request.
 * The profiler's sample times are wall-clock: when other processes share the core they include
 * time the server was not running. Pass `cpuMs`, the process's real CPU time (from /proc) over
 * the profile, and the per-request figures are the profile's shares of that instead.
 * @param {CpuProfile} profile
 * @param {{ requests?: number | undefined, cpuMs?: number | undefined, top?: number }} [options]
 */
export function summarise(profile, { requests, cpuMs, top = 25 } = {}) {
  const a = analyse(profile);
  const pct = (/** @type {number} */ us) => Math.round((1000 * us) / a.busyUs) / 10;
  const scale = cpuMs ? (cpuMs * 1000) / a.busyUs : 1;
  const perReq = (/** @type {number} */ us) => (requests ? Math.round((10 * us * scale) / requests) / 10 : undefined);
  const row = (/** @type {readonly [string, number]} */ [name, us]) => ({
    name,
    ms: Math.round(us / 1000),
    pct: pct(us),
    usPerRequest: perReq(us),
  });
  return {
    wallMs: Math.round(a.totalUs / 1000),
    busyMs: Math.round(a.busyUs / 1000),
    idlePct: Math.round((1000 * a.idleUs) / a.totalUs) / 10,
    requests,
    cpuMs,
    profileBusyUsPerRequest: requests ? Math.round((10 * a.busyUs) / requests) / 10 : undefined,
    busyUsPerRequest: perReq(a.busyUs),
    components: a.components.map(row),
    // Several frames can match one anchor (recursion, many pino functions): a sample counts once.
    anchors: ANCHORS.filter(([label]) => (a.anchorUs.get(label) ?? 0) > 0).map(([label]) => row([label, a.anchorUs.get(label) ?? 0])),
    topSelf: a.self.slice(0, top).map(row),
    topInclusive: a.inclusive
      .filter(([k]) => !/^\(anonymous\) $/.test(k))
      .slice(0, top)
      .map(row),
  };
}

/** @typedef {ReturnType<typeof summarise>} ProfileSummary */

/**
 * Markdown for one summary.
 * @param {string} title
 * @param {ProfileSummary} s
 * @param {{ top?: number }} [options]
 */
export function summaryMarkdown(title, s, { top = 15 } = {}) {
  const lines = [`#### ${title}`, ""];
  lines.push(
    `busy ${s.busyMs} ms of ${s.wallMs} ms profiled (idle ${s.idlePct}%)` +
      (s.requests ? `, ${s.requests} requests, **${s.busyUsPerRequest} µs CPU per request**` : "") +
      (s.cpuMs ? ` (process CPU time from /proc; the profile's own wall-clock samples say ${s.profileBusyUsPerRequest} µs)` : ""),
    "",
    "| component | % of busy | µs/request |",
    "|---|---:|---:|",
  );
  for (const c of s.components.filter((c) => c.pct >= 0.5)) lines.push(`| ${c.name} | ${c.pct} | ${c.usPerRequest ?? ""} |`);
  if (s.anchors?.length) {
    lines.push("", "| key frames, inclusive (callees counted) | % | µs/req |", "|---|---:|---:|");
    for (const f of s.anchors)
      lines.push(`| ${f.name.replace(/^( +)/, (m) => "&nbsp;".repeat(m.length * 2))} | ${f.pct} | ${f.usPerRequest ?? ""} |`);
  }
  lines.push("", "| top self time | % | µs/req |", "|---|---:|---:|");
  for (const f of s.topSelf.slice(0, top)) lines.push(`| \`${f.name}\` | ${f.pct} | ${f.usPerRequest ?? ""} |`);
  lines.push("", "| top inclusive time | % | µs/req |", "|---|---:|---:|");
  for (const f of s.topInclusive.slice(0, top)) lines.push(`| \`${f.name}\` | ${f.pct} | ${f.usPerRequest ?? ""} |`);
  return `${lines.join("\n")}\n`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [file, requests] = process.argv.slice(2);
  if (!file) {
    process.stderr.write("usage: node bench/lib/cpuprofile.mjs FILE.cpuprofile [requests]\n");
    process.exit(2);
  }
  const s = summarise(JSON.parse(readFileSync(file, "utf8")), { requests: requests ? Number(requests) : undefined });
  process.stdout.write(summaryMarkdown(file, s, { top: 25 }));
}
