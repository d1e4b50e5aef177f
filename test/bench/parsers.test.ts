import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

// The harness is plain ESM JavaScript in bench/; a computed specifier keeps tsc from asking for
// declaration files.
const load = (p: string) => import(new URL(`../../bench/lib/${p}`, import.meta.url).href);

// Real output of wrk 4.1.0 (Debian 12) against a server answering 401.
const WRK_401 = `Running 1s test @ http://127.0.0.1:40123/oauth/token
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.24ms    5.23ms 131.36ms   97.05%
    Req/Sec    31.38k     9.63k   49.03k    76.00%
  Latency Distribution
     50%  469.00us
     75%    1.88ms
     90%    2.96ms
     99%   13.78ms
  156067 requests in 5.01s, 48.52MB read
  Socket errors: connect 0, read 3, write 0, timeout 1
  Non-2xx or 3xx responses: 156067
Requests/sec:  31159.45
Transfer/sec:      9.69MB
`;

// Real output of h2load 1.52.0, gRPC IssueToken, every request answered.
const H2LOAD_OK = `finished in 22.37s, 893.98 req/s, 501.52KB/s
requests: 20000 total, 20000 started, 20000 done, 20000 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 20000 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 10.96MB (11489331) total, 85.19KB (87231) headers (space savings 94.34%), 10.34MB (10840000) data
`;

describe("wrk output", () => {
  it("reads rate, latency in ms, non-2xx answers and socket errors", async () => {
    const { parseWrk } = await load("wrk.mjs");
    const r = parseWrk(WRK_401);
    expect(r.rps).toBe(31159.45);
    expect(r.requests).toBe(156067);
    expect(r.non2xx).toBe(156067);
    expect(r.socketErrors).toEqual({ connect: 0, read: 3, write: 0, timeout: 1 });
    expect(r.latencyMs.p50).toBeCloseTo(0.469);
    expect(r.latencyMs.p99).toBeCloseTo(13.78);
  });

  it("writes a Lua script that rotates the Authorization header", async () => {
    const { writeWrkScript } = await load("wrk.mjs");
    const dir = mkdtempSync(join(tmpdir(), "bench-test-"));
    try {
      const file = writeWrkScript(join(dir, "s.lua"), { path: "/oauth/token", body: "a=b", authorizations: ["Basic x", "Basic y"] });
      const text = (await import("node:fs")).readFileSync(file, "utf8");
      expect(text).toContain('"Basic x",');
      expect(text).toContain('"Basic y",');
      expect(text).toContain("i = i % n + 1");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("h2load output", () => {
  it("reads counts, statuses and DATA bytes", async () => {
    const { parseH2load } = await load("h2load.mjs");
    const r = parseH2load(H2LOAD_OK);
    expect(r).toMatchObject({ total: 20000, succeeded: 20000, failed: 0, errored: 0, timeout: 0, rps: 893.98, dataBytes: 10840000 });
    expect(r.status["2xx"]).toBe(20000);
    expect(r.seconds).toBeCloseTo(22.37);
  });

  it("passes a clean round and fails one where replies carried no token", async () => {
    const { parseH2load, assertH2loadClean } = await load("h2load.mjs");
    const r = parseH2load(H2LOAD_OK);
    expect(() => assertH2loadClean(r, { label: "ok", replyDataBytes: 542 })).not.toThrow();
    // gRPC errors are HTTP 200 with trailers only: h2load counts them as successes.
    const errors = { ...r, dataBytes: r.dataBytes - 3 * 542 };
    expect(() => assertH2loadClean(errors, { label: "grpc errors", replyDataBytes: 542 })).toThrow(
      /ROUND FAILED.*about 3 replies carried no token/,
    );
    const non2xx = { ...r, status: { ...r.status, "2xx": 19999, "4xx": 1 } };
    expect(() => assertH2loadClean(non2xx, { label: "4xx" })).toThrow(/ROUND FAILED/);
  });

  it("takes percentiles from the per-request log, skipping requests never answered", async () => {
    const { latencyFromLog } = await load("h2load.mjs");
    const dir = mkdtempSync(join(tmpdir(), "bench-test-"));
    try {
      const lines = Array.from({ length: 100 }, (_, i) => `17956934542432${i}\t200\t${(i + 1) * 1000}`);
      lines.push("1795693454243999\t0\t999999999");
      writeFileSync(join(dir, "log"), `${lines.join("\n")}\n`);
      const l = latencyFromLog(join(dir, "log"));
      expect(l.count).toBe(100);
      expect(l.p50).toBe(51);
      expect(l.p99).toBe(100);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("cpuprofile summary", () => {
  it("splits time by component and counts an anchor once per sample", async () => {
    const { analyse, summarise } = await load("cpuprofile.mjs");
    const frame = (id: number, functionName: string, url: string, children: number[] = []) => ({
      id,
      callFrame: { functionName, url, lineNumber: 0, columnNumber: 0, scriptId: "0" },
      children,
    });
    const profile = {
      nodes: [
        frame(1, "(root)", "", [2, 5, 6]),
        frame(2, "issueToken", "file:///x/dist/src/core/issue-token.js", [3]),
        frame(3, "sign", "file:///x/dist/src/keys/key-ring.js", [4]),
        frame(4, "signOneShot", "node:internal/crypto/sig"),
        frame(5, "(idle)", ""),
        frame(6, "handle", "file:///x/node_modules/@connectrpc/connect/dist/esm/protocol-grpc/handler-factory.js"),
      ],
      // timeDeltas[i + 1] is the time sample i stands for.
      samples: [4, 4, 6, 5, 2],
      timeDeltas: [0, 100, 100, 200, 300, 100],
      startTime: 0,
      endTime: 800,
    };
    const a = analyse(profile);
    expect(a.busyUs).toBe(500);
    expect(a.idleUs).toBe(300);
    expect(Object.fromEntries(a.components)).toMatchObject({ "node crypto": 200, "connect-node / connect": 200, "tessera core": 100 });
    const s = summarise(profile, { requests: 5 });
    const anchor = (name: RegExp) => s.anchors.find((x: { name: string }) => name.test(x.name));
    expect(anchor(/^Tessera issueToken/).pct).toBe(60);
    expect(anchor(/signOneShot/).usPerRequest).toBe(40);
  });
});

describe("stats", () => {
  it("gives medians and ranges over rounds", async () => {
    const { median, spread, ratio } = await load("stats.mjs");
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(spread([{ r: 5 }, { r: 1 }, { r: 3 }], (x: { r: number }) => x.r)).toEqual({ median: 3, min: 1, max: 5 });
    expect(ratio(3, 4)).toBe(0.75);
    expect(ratio(3, 0)).toBeUndefined();
  });
});
