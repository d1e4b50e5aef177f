import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config.js";
import { httpRequest, postForm } from "../../helpers/http.js";
import { parseExposition, valueOf } from "../../helpers/ops-prometheus.js";
import { bootstrap, runTessera, startTessera, type TesseraProcess, tempDir } from "../../helpers/tessera-process.js";

// --metrics-addr: /metrics on a listener of its own (an internal address), and no longer on
// the public port, which every client can reach. Checked on the real `tessera serve`.

let server: TesseraProcess;
let metricsUrl: string;
let db: string;

beforeAll(async () => {
  db = join(tempDir("metrics-addr"), "tessera.db");
  await bootstrap(db);
  server = await startTessera({ db, args: ["--metrics-addr", "127.0.0.1:0"] });
  const line = await server.waitForLog((l) => l.msg === "metrics listening");
  expect(line.host).toBe("127.0.0.1");
  metricsUrl = `http://127.0.0.1:${line.port as number}/metrics`;
});
afterAll(async () => server?.stop());

describe("tessera serve --metrics-addr", () => {
  it("serves the Prometheus exposition on the metrics address, counting the public port's requests", async () => {
    const r = await postForm(`${server.url}/oauth/token`, {
      grant_type: "client_credentials",
      client_id: "tcl_nobody",
      client_secret: "x",
    });
    expect(r.status).toBe(401);
    const m = await httpRequest("GET", metricsUrl);
    expect(m.status).toBe(200);
    expect(m.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const e = parseExposition(m.text);
    expect(
      valueOf(e, "tessera_token_requests_total", { transport: "http", endpoint: "token", outcome: "error", error: "invalid_client" }),
    ).toBe(1);
  });

  it("no longer serves /metrics on the public port", async () => {
    const r = await httpRequest("GET", `${server.url}/metrics`);
    expect(r.status).toBe(404);
    expect(r.text).not.toMatch(/tessera_/);
  });

  it("serves nothing else on the metrics address", async () => {
    expect((await httpRequest("GET", metricsUrl.replace("/metrics", "/oauth/token"))).status).toBe(404);
    expect((await httpRequest("GET", metricsUrl.replace("/metrics", "/.well-known/jwks.json"))).status).toBe(404);
    expect((await httpRequest("POST", metricsUrl)).status).toBe(405);
  });

  it("says in the start-up configuration where the metrics are", () => {
    const config = server.logs.find((l) => l.msg === "configuration")!.config as Record<string, unknown>;
    expect(config.metricsAddr).toStrictEqual({ host: "127.0.0.1", port: 0 });
  });

  it("closes both listeners on SIGTERM and exits 0", async () => {
    expect(await server.stop()).toStrictEqual({ code: 0, signal: null });
    await expect(httpRequest("GET", metricsUrl)).rejects.toThrow(/ECONNREFUSED/);
  });

  it("refuses an address that is not host:port, with one sentence and exit code 2", async () => {
    const r = await runTessera(["serve", "--port", "0", "--db", db, "--metrics-addr", "9464"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--metrics-addr must be a host and port such as 127\.0\.0\.1:9464 or \[::1\]:9464 \(got "9464"\)\./);
  });
});

describe("the metrics address setting", () => {
  it("reads host:port from --metrics-addr or TESSERA_METRICS_ADDR, IPv6 in brackets; none by default", () => {
    expect(loadConfig({}, {}).metricsAddr).toBeUndefined();
    expect(loadConfig({ metricsAddr: "127.0.0.1:9464" }, {}).metricsAddr).toStrictEqual({ host: "127.0.0.1", port: 9464 });
    expect(loadConfig({}, { TESSERA_METRICS_ADDR: "[::1]:9464" }).metricsAddr).toStrictEqual({ host: "::1", port: 9464 });
    expect(loadConfig({}, { TESSERA_METRICS_ADDR: "metrics.internal:9464" }).metricsAddr).toStrictEqual({
      host: "metrics.internal",
      port: 9464,
    });
    for (const bad of ["::1:9464", "127.0.0.1", "127.0.0.1:99999", "[nope]:1", ":9464"]) {
      expect(() => loadConfig({ metricsAddr: bad }, {}), bad).toThrow(/--metrics-addr must be a host and port/);
    }
  });
});
