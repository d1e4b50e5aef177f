import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { eventually } from "../../helpers/eventually.js";
import { postForm } from "../../helpers/http.js";
import { type CallFailure, opsClient, unary } from "../../helpers/ops-grpc.js";
import { basic, startTestServer, type TestServer } from "../../helpers/test-server.js";

// X-Forwarded-For is believed only from a configured proxy. The per-address limit (1 request a
// second, burst 1) shows whose address a request was counted under. The real server on a real
// port, with its log lines kept, on a clock that does not move: no bucket refills during a
// test, however slowly a loaded machine runs it.

const LIMITS = { TESSERA_IP_RPS: "1", TESSERA_IP_BURST: "1" };
const NOW = Date.now();
const started: TestServer[] = [];

afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
});

type LogLine = Record<string, unknown>;

interface Served {
  s: TestServer;
  admin: { clientId: string; clientSecret: string };
  /** Every log line so far, parsed, and verbatim. */
  logs: LogLine[];
  output: string[];
}

async function serve(env: Record<string, string>): Promise<Served> {
  const logs: LogLine[] = [];
  const output: string[] = [];
  const log = pino(
    { level: "info" },
    {
      write(line: string) {
        output.push(line);
        logs.push(JSON.parse(line) as LogLine);
      },
    },
  );
  const s = await startTestServer({ clock: () => NOW, env: { ...LIMITS, ...env }, log });
  started.push(s);
  return { s, admin: await s.createClient(), logs, output };
}

function tokenHttp({ s, admin }: Served, forwardedFor?: string) {
  return postForm(
    `${s.url}/oauth/token`,
    { grant_type: "client_credentials" },
    {
      authorization: basic(admin.clientId, admin.clientSecret),
      ...(forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor }),
    },
  );
}

async function requestLines({ logs }: Served, n: number): Promise<LogLine[]> {
  const lines = () => logs.filter((l) => l.msg === "token request");
  await eventually(`${n} request log lines`, () => lines().length >= n);
  return lines();
}

describe("without --trust-proxy", () => {
  it("X-Forwarded-For is ignored: different forwarded addresses are limited as the one socket address", async () => {
    const served = await serve({});
    const { s, admin } = served;
    const first = await tokenHttp(served, "10.0.0.1");
    const second = await tokenHttp(served, "10.0.0.2");
    const grpcClient = opsClient("TokenService", `127.0.0.1:${s.port}`);
    const third = await unary(
      grpcClient,
      "IssueToken",
      { client_id: admin.clientId, client_secret: admin.clientSecret },
      { "x-forwarded-for": "10.0.0.3" },
    ).catch((e: CallFailure) => e);
    grpcClient.close();
    expect(first.status).toBe(200);
    expect(second.status).toBe(429);
    expect(second.body.error).toBe("temporarily_unavailable");
    expect(Number(second.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((third as CallFailure).code).toBe(8); // RESOURCE_EXHAUSTED

    const lines = await requestLines(served, 3);
    expect(lines.map((l) => [l.transport, l.origin, l.outcome, l.error ?? null, l.limit ?? null])).toEqual([
      ["http", "127.0.0.1", "success", null, null],
      ["http", "127.0.0.1", "error", "temporarily_unavailable", "address"],
      ["grpc", "127.0.0.1", "error", "temporarily_unavailable", "address"],
    ]);
    expect(served.output.join("")).not.toContain("10.0.0.");
  });
});

describe("with --trust-proxy 127.0.0.1", () => {
  it("requests are counted per forwarded address, the rightmost one not a trusted proxy", async () => {
    const served = await serve({ TESSERA_TRUST_PROXY: "127.0.0.1" });
    const { s, admin } = served;
    const statuses = [
      (await tokenHttp(served, "10.0.0.1")).status,
      (await tokenHttp(served, "10.0.0.2")).status,
      (await tokenHttp(served, "10.0.0.1")).status, // 10.0.0.1 again: its own limit
      (await tokenHttp(served, "198.51.100.7, 10.0.0.9")).status, // the proxy appended 10.0.0.9
      (await tokenHttp(served, "203.0.113.5, 10.0.0.9")).status, // a forged left entry does not buy a new bucket
      (await tokenHttp(served)).status, // the proxy itself, without the header
    ];
    expect(statuses).toEqual([200, 200, 429, 200, 429, 200]);

    const grpcClient = opsClient("TokenService", `127.0.0.1:${s.port}`);
    try {
      const creds = { client_id: admin.clientId, client_secret: admin.clientSecret };
      await expect(unary(grpcClient, "IssueToken", creds, { "x-forwarded-for": "10.0.0.20" })).resolves.toHaveProperty("access_token");
      await expect(unary(grpcClient, "IssueToken", creds, { "x-forwarded-for": "10.0.0.20" })).rejects.toMatchObject({ code: 8 });
      await expect(unary(grpcClient, "IssueToken", creds, { "x-forwarded-for": "10.0.0.21" })).resolves.toHaveProperty("access_token");
    } finally {
      grpcClient.close();
    }

    const lines = await requestLines(served, 9);
    expect(lines.map((l) => [l.transport, l.origin, l.outcome])).toEqual([
      ["http", "10.0.0.1", "success"],
      ["http", "10.0.0.2", "success"],
      ["http", "10.0.0.1", "error"],
      ["http", "10.0.0.9", "success"],
      ["http", "10.0.0.9", "error"],
      ["http", "127.0.0.1", "success"],
      ["grpc", "10.0.0.20", "success"],
      ["grpc", "10.0.0.20", "error"],
      ["grpc", "10.0.0.21", "success"],
    ]);
    // The configuration line records which proxies are trusted.
    const config = served.logs.find((l) => l.msg === "configuration")!.config as Record<string, unknown>;
    expect(config.trustProxy).toEqual(["127.0.0.1"]);
  });
});
