import { rmSync } from "node:fs";
import { join } from "node:path";
import type * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../../helpers/eventually.js";
import { httpRequest, postForm } from "../../helpers/http.js";
import { adminToken, bearer, type CallFailure, opsClient, unary } from "../../helpers/ops-grpc.js";
import { type Exposition, find, parseExposition, valueOf } from "../../helpers/ops-prometheus.js";
import { bootstrap, type Credentials, startTessera, type TesseraProcess, tempDir } from "../../helpers/tessera-process.js";
import { basic } from "../../helpers/test-server.js";

let dir: string;
let server: TesseraProcess;
let admin: Credentials;
let tokens: grpc.Client;
let clients: grpc.Client;
let md: Record<string, string>;
const created: Credentials[] = [];

async function scrape(): Promise<{ contentType: string | null; e: Exposition }> {
  const r = await httpRequest("GET", `${server.url}/metrics`);
  expect(r.status).toBe(200);
  return { contentType: r.headers.get("content-type"), e: parseExposition(r.text) };
}

/** Counts of answered requests by transport/endpoint/outcome/error, as the test saw them. */
const seen = new Map<string, number>();
const key = (transport: string, endpoint: string, error: string) =>
  `${transport}|${endpoint}|${error === "" ? "success" : "error"}|${error}`;
const count = (transport: string, endpoint: string, error: string) =>
  seen.set(key(transport, endpoint, error), (seen.get(key(transport, endpoint, error)) ?? 0) + 1);

async function http(c: Credentials, body: Record<string, string> = {}, endpoint = "token"): Promise<number> {
  const r = await postForm(
    `${server.url}/oauth/${endpoint}`,
    { grant_type: "client_credentials", ...body },
    { authorization: basic(c.clientId, c.clientSecret) },
  );
  count("http", endpoint, r.status === 200 ? "" : (r.body.error as string));
  return r.status;
}
async function rpc(c: Credentials, scope = ""): Promise<void> {
  try {
    await unary(tokens, "IssueToken", { client_id: c.clientId, client_secret: c.clientSecret, scope });
    count("grpc", "token", "");
  } catch (e) {
    count("grpc", "token", (e as CallFailure).reason ?? "?");
  }
}

let before: Exposition;
let after: Exposition;

beforeAll(async () => {
  dir = tempDir("metrics");
  const db = join(dir, "tessera.db");
  admin = await bootstrap(db);
  server = await startTessera({ db, args: ["--auth-failure-limit", "3", "--auth-failure-window", "60s"] });
  tokens = opsClient("TokenService", `127.0.0.1:${server.port}`);
  clients = opsClient("ClientAdmin", `127.0.0.1:${server.port}`);
  before = (await scrape()).e;

  md = bearer(await adminToken(tokens, admin));
  count("grpc", "token", "");
  for (const id of ["m-one", "m-two", "m-three"]) {
    const r = await unary<{ client: { client_id: string }; client_secret: string }>(
      clients,
      "CreateClient",
      { client_id: id, name: id, scopes: ["read"] },
      md,
    );
    created.push({ clientId: r.client.client_id, clientSecret: r.client_secret });
  }
  const [one, two] = created as [Credentials, Credentials];
  const wrong = { clientId: two.clientId, clientSecret: one.clientSecret };

  // HTTP: successes, wrong secrets, a bad scope, a bad grant type, an introspection without the scope.
  for (let i = 0; i < 3; i++) expect(await http(one, { scope: "read" })).toBe(200);
  expect(await http(wrong)).toBe(401);
  expect(await http(wrong)).toBe(401);
  expect(await http(one, { scope: "write" })).toBe(400);
  expect(await http(one, { grant_type: "password" })).toBe(400);
  expect(await http(one, { token: "x" }, "introspect")).toBe(403);
  // gRPC: successes, a wrong secret, a bad scope.
  await rpc(one, "read");
  await rpc(two);
  await rpc({ clientId: one.clientId, clientSecret: two.clientSecret });
  await rpc(two, "admin");
  // Throttling: a client id that failed to authenticate 3 times in the window is refused.
  const ghost = { clientId: "ghost", clientSecret: "tsec_guess" };
  for (let i = 0; i < 3; i++) expect(await http(ghost)).toBe(401);
  expect(await http(ghost)).toBe(429);

  after = (await scrape()).e;
}, 30_000);

afterAll(async () => {
  tokens?.close();
  clients?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("GET /metrics", () => {
  it("is the Prometheus text format, every sample belonging to a declared family", async () => {
    const { contentType, e } = await scrape();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const family = (name: string) => {
      if (e.types.has(name)) return name;
      const base = name.replace(/_(bucket|sum|count)$/, "");
      return e.types.get(base) === "histogram" || e.types.get(base) === "summary" ? base : undefined;
    };
    for (const s of e.samples) expect(family(s.name), s.name).toBeDefined();
    for (const name of e.types.keys()) {
      expect(name).toMatch(/^tessera_/);
      expect(e.help.get(name), `HELP for ${name}`).toBeTruthy();
    }
    expect(e.types.get("tessera_process_cpu_user_seconds_total")).toBe("counter");
  });

  it("tessera_token_requests_total counts every answer by transport, endpoint, outcome and OAuth error", () => {
    expect(after.types.get("tessera_token_requests_total")).toBe("counter");
    const labelsOf = (k: string) => {
      const [transport, endpoint, outcome, error] = k.split("|");
      return { transport: transport!, endpoint: endpoint!, outcome: outcome!, error: error! };
    };
    const deltas: Record<string, number> = {};
    for (const s of find(after, "tessera_token_requests_total")) {
      const k = `${s.labels.transport}|${s.labels.endpoint}|${s.labels.outcome}|${s.labels.error}`;
      const d = s.value - valueOf(before, "tessera_token_requests_total", s.labels);
      if (d !== 0) deltas[k] = d;
    }
    expect(deltas).toEqual(Object.fromEntries(seen));
    // The spot checks a dashboard would make.
    expect(valueOf(after, "tessera_token_requests_total", labelsOf(key("http", "token", "")))).toBe(3);
    expect(valueOf(after, "tessera_token_requests_total", labelsOf(key("http", "token", "invalid_client")))).toBe(5);
    expect(valueOf(after, "tessera_token_requests_total", labelsOf(key("http", "token", "invalid_scope")))).toBe(1);
    expect(valueOf(after, "tessera_token_requests_total", labelsOf(key("http", "token", "unsupported_grant_type")))).toBe(1);
    expect(valueOf(after, "tessera_token_requests_total", labelsOf(key("http", "token", "temporarily_unavailable")))).toBe(1);
    expect(valueOf(after, "tessera_token_requests_total", labelsOf(key("http", "introspect", "insufficient_scope")))).toBe(1);
    expect(valueOf(after, "tessera_token_requests_total", labelsOf(key("grpc", "token", "")))).toBe(3);
    expect(valueOf(after, "tessera_token_requests_total", labelsOf(key("grpc", "token", "invalid_client")))).toBe(1);
    expect(valueOf(after, "tessera_token_requests_total", labelsOf(key("grpc", "token", "invalid_scope")))).toBe(1);
  });

  it("tessera_token_request_duration_seconds is a histogram whose counts match the requests", () => {
    expect(after.types.get("tessera_token_request_duration_seconds")).toBe("histogram");
    for (const [transport, n] of [
      ["http", 11],
      ["grpc", 5],
    ] as const) {
      const labels = { transport, endpoint: "token" };
      const buckets = find(after, "tessera_token_request_duration_seconds_bucket", labels).map((s) => ({
        le: Number(s.labels.le === "+Inf" ? Infinity : s.labels.le),
        v: s.value,
      }));
      expect(buckets.length).toBeGreaterThan(5);
      const sorted = [...buckets].sort((a, b) => a.le - b.le);
      for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.v).toBeGreaterThanOrEqual(sorted[i - 1]!.v);
      const total = valueOf(after, "tessera_token_request_duration_seconds_count", labels);
      expect(sorted.at(-1)).toEqual({ le: Infinity, v: total });
      expect(total - valueOf(before, "tessera_token_request_duration_seconds_count", labels)).toBe(n);
      expect(valueOf(after, "tessera_token_request_duration_seconds_sum", labels)).toBeGreaterThan(0);
    }
  });

  it("tessera_rate_limited_total counts the throttled request by limit", () => {
    expect(after.types.get("tessera_rate_limited_total")).toBe("counter");
    expect(
      valueOf(after, "tessera_rate_limited_total", { limit: "auth_failures" }) -
        valueOf(before, "tessera_rate_limited_total", { limit: "auth_failures" }),
    ).toBe(1);
    expect(find(after, "tessera_rate_limited_total").reduce((n, s) => n + s.value, 0)).toBe(1);
  });

  it("tessera_signing_keys shows one current and one next key", () => {
    expect(after.types.get("tessera_signing_keys")).toBe("gauge");
    expect(valueOf(after, "tessera_signing_keys", { state: "current" })).toBe(1);
    expect(valueOf(after, "tessera_signing_keys", { state: "next" })).toBe(1);
    expect(valueOf(after, "tessera_signing_keys", { state: "retired" })).toBe(0);
  });

  it("tessera_clients equals the clients created (bootstrap admin + 3), and follows a deletion", async () => {
    expect(after.types.get("tessera_clients")).toBe("gauge");
    // The gauge reads the database at most once a second: the next scrapes show the change.
    await eventually("tessera_clients == 4", async () => valueOf((await scrape()).e, "tessera_clients") === 4);
    await unary(clients, "DeleteClient", { client_id: "m-three" }, md);
    await eventually("tessera_clients == 3 after a deletion", async () => valueOf((await scrape()).e, "tessera_clients") === 3);
  });

  it("tessera_storage_errors_total and tessera_admin_requests_total are exposed", () => {
    expect(after.types.get("tessera_storage_errors_total")).toBe("counter");
    expect(find(after, "tessera_storage_errors_total").every((s) => s.value === 0)).toBe(true);
    expect(after.types.get("tessera_admin_requests_total")).toBe("counter");
    expect(valueOf(after, "tessera_admin_requests_total", { service: "ClientAdmin", method: "CreateClient", code: "ok" })).toBe(3);
  });
});
