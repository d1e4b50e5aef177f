// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function, time per component
// (connect-node, protobuf, Tessera's own code, signing, SQLite, node http/http2, streams, GC ...),
// and inclusive time of the frames that matter. Also a CLI:
//   node bench/lib/cpuprofile.mjs FILE.cpuprofile [requests]
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const SPECIAL = new Set(["(idle)", "(program)", "(garbage collector)", "(root)"]);

/** Which component a JS frame belongs to, from its script URL. */
export function component(url, fn) {
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
  if (u.includes("/node_modules/")) return "other npm: " + u.split("/node_modules/").pop().split("/")[0];
  const dist = /\/dist\/(src|gen)\/(.*)$/.exec(u);
  if (dist) {
    if (dist[1] === "gen") return "tessera gen/ (generated)";
    const parts = dist[2].split("/");
    const area = parts.length > 1 ? parts.slice(0, parts[0] === "transport" || parts[0] === "storage" ? 2 : 1).join("/") : parts[0].replace(/\.js$/, "");
    return `tessera ${area}`;
  }
  if (u.includes("/bench/")) return "bench peer code";
  if (/^node:internal\/http2|^node:http2/.test(u)) return "node http2";
  if (/^node:_http_|^node:http$|^node:internal\/http/.test(u)) return "node http/1.1";
  if (/^node:internal\/crypto|^node:crypto/.test(u)) return "node crypto";
  if (/^node:net|^node:internal\/stream_base_commons|^node:internal\/net/.test(u)) return "node net/socket";
  if (/^node:internal\/streams|^node:stream/.test(u)) return "node streams";
  if (/^node:internal\/per_context\/domexception|^node:internal\/abort_controller|^node:internal\/event_target/.test(u)) return "node AbortSignal/DOMException/EventTarget";
  if (/^node:internal\/deps\/undici/.test(u)) return "node fetch Headers (undici)";
  if (/^node:internal\/(process\/task_queues|timers)|^node:timers|^node:events/.test(u)) return "node events/timers/ticks";
  if (/^node:internal\/url|^node:url/.test(u)) return "node url/querystring";
  if (/^node:internal\/modules|^node:internal\/bootstrap/.test(u)) return "node module loading (startup)";
  if (/^node:buffer|^node:internal\/buffer/.test(u)) return "node buffer";
  if (u.startsWith("node:")) return "node other";
  return "other: " + u.slice(-60);
}

/** Frames whose inclusive time tells where a token's CPU goes, the same list for every profile. */
export const ANCHORS = [
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

/** Parses a profile and attributes each sample's time (microseconds). */
export function analyse(profile) {
  const byId = new Map();
  for (const n of profile.nodes) byId.set(n.id, n);
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const key = (n) => {
    const cf = n.callFrame;
    const file = cf.url ? cf.url.replace(/^file:\/\/.*\/(node_modules|dist|bench)\//, "$1/") : "";
    return `${cf.functionName || "(anonymous)"} ${file}${cf.url ? ":" + (cf.lineNumber + 1) : ""}`;
  };
  // A native frame (no URL) takes the component of the nearest JS caller, marked native.
  const compCache = new Map();
  const compOf = (id) => {
    if (compCache.has(id)) return compCache.get(id);
    const n = byId.get(id);
    let c = component(n.callFrame.url, n.callFrame.functionName);
    if (c === undefined) {
      let p = parent.get(id);
      let up;
      while (p !== undefined && up === undefined) {
        const pn = byId.get(p);
        up = component(pn.callFrame.url, pn.callFrame.functionName);
        p = parent.get(p);
      }
      c = `${up ?? "unknown"} (native: ${n.callFrame.functionName || "?"})`;
      c = refineNative(c, n.callFrame.functionName, up);
    }
    compCache.set(id, c);
    return c;
  };

  const samples = profile.samples;
  const deltas = profile.timeDeltas;
  const self = new Map();
  const incl = new Map();
  const comps = new Map();
  const anchorUs = new Map();
  let total = 0;
  let idle = 0;
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i + 1] is the time from sample i to the next one: the time sample i stands for.
    const dt = Math.max(0, i + 1 < deltas.length ? deltas[i + 1] : 0);
    const id = samples[i];
    const n = byId.get(id);
    total += dt;
    if (n.callFrame.functionName === "(idle)") {
      idle += dt;
      continue;
    }
    const k = key(n);
    self.set(k, (self.get(k) ?? 0) + dt);
    const c = compOf(id);
    comps.set(c, (comps.get(c) ?? 0) + dt);
    const seen = new Set();
    const anchorsSeen = new Set();
    for (let p = id, depth = 0; p !== undefined && depth < 500; p = parent.get(p), depth++) {
      const pn = byId.get(p);
      if (SPECIAL.has(pn.callFrame.functionName)) continue;
      const pk = key(pn);
      if (seen.has(pk)) continue;
      seen.add(pk);
      incl.set(pk, (incl.get(pk) ?? 0) + dt);
      for (const [label, re] of ANCHORS) {
        if (!anchorsSeen.has(label) && re.test(pk)) {
          anchorsSeen.add(label);
          anchorUs.set(label, (anchorUs.get(label) ?? 0) + dt);
        }
      }
    }
  }
  const sorted = (m) => [...m].sort((a, b) => b[1] - a[1]);
  return { totalUs: total, idleUs: idle, busyUs: total - idle, self: sorted(self), inclusive: sorted(incl), components: sorted(comps), anchorUs };
}

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
 */
export function summarise(profile, { requests, cpuMs, top = 25 } = {}) {
  const a = analyse(profile);
  const pct = (us) => Math.round((1000 * us) / a.busyUs) / 10;
  const scale = cpuMs ? (cpuMs * 1000) / a.busyUs : 1;
  const perReq = (us) => (requests ? Math.round((10 * us * scale) / requests) / 10 : undefined);
  const row = ([name, us]) => ({ name, ms: Math.round(us / 1000), pct: pct(us), usPerRequest: perReq(us) });
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
    anchors: ANCHORS.filter(([label]) => (a.anchorUs.get(label) ?? 0) > 0).map(([label]) => row([label, a.anchorUs.get(label)])),
    topSelf: a.self.slice(0, top).map(row),
    topInclusive: a.inclusive.filter(([k]) => !/^\(anonymous\) $/.test(k)).slice(0, top).map(row),
  };
}

/** Markdown for one summary. */
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
    for (const f of s.anchors) lines.push(`| ${f.name.replace(/^( +)/, (m) => "&nbsp;".repeat(m.length * 2))} | ${f.pct} | ${f.usPerRequest ?? ""} |`);
  }
  lines.push("", "| top self time | % | µs/req |", "|---|---:|---:|");
  for (const f of s.topSelf.slice(0, top)) lines.push(`| \`${f.name}\` | ${f.pct} | ${f.usPerRequest ?? ""} |`);
  lines.push("", "| top inclusive time | % | µs/req |", "|---|---:|---:|");
  for (const f of s.topInclusive.slice(0, top)) lines.push(`| \`${f.name}\` | ${f.pct} | ${f.usPerRequest ?? ""} |`);
  return lines.join("\n") + "\n";
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
