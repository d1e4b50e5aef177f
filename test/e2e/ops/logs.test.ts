import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import type * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpRequest, postForm } from "../../helpers/http.js";
import { bearer, type CallFailure, opsClient, unary } from "../../helpers/ops-grpc.js";
import { bootstrap, type Credentials, startTessera, type TesseraProcess, tempDir } from "../../helpers/tessera-process.js";
import { basic } from "../../helpers/test-server.js";

// One server process, one full session through both doors; then its whole output is checked:
// one structured line per request, admin calls at info, the start-up configuration, and not one
// secret, token, Authorization header or the KEK anywhere in stdout or stderr.

const kekBytes = randomBytes(32);
const KEK = kekBytes.toString("base64");
const issuer = "http://tessera.logs.test";

let dir: string;
let server: TesseraProcess;
let admin: Credentials;
let tokens: grpc.Client;
let clients: grpc.Client;
let keys: grpc.Client;
/** Everything that must never appear in the server's output. */
const secrets = new Set<string>([KEK, kekBytes.toString("hex"), kekBytes.toString("base64url")]);
/** What each token-family request should have logged, in order. */
const expected: {
  transport: string;
  endpoint: string;
  client_id: string | undefined;
  scope: string | undefined;
  outcome: string;
  error: string | undefined;
}[] = [];
/** Admin calls made, in order: [method, code]. */
const adminCalls: [string, string][] = [];
/** How long the session took, as the test saw it (ms). */
let sessionMs = 0;

function trackToken(token: string): string {
  secrets.add(token);
  const [, payload, signature] = token.split(".");
  secrets.add(signature!);
  secrets.add(`${payload}.${signature}`);
  return token;
}
function basicHeader(id: string, secret: string): string {
  const h = basic(id, secret);
  secrets.add(h);
  secrets.add(h.slice("Basic ".length));
  return h;
}
function note(transport: "http" | "grpc", endpoint: string, clientId: string | undefined, scope: string | undefined, error?: string) {
  expected.push({ transport, endpoint, client_id: clientId, scope, outcome: error ? "error" : "success", error });
}

async function httpToken(c: Credentials, how: "basic" | "post", scope?: string, error?: string): Promise<string | undefined> {
  secrets.add(c.clientSecret);
  const body: Record<string, string> = { grant_type: "client_credentials", ...(scope ? { scope } : {}) };
  const headers: Record<string, string> = {};
  if (how === "basic") headers.authorization = basicHeader(c.clientId, c.clientSecret);
  else Object.assign(body, { client_id: c.clientId, client_secret: c.clientSecret });
  const r = await postForm(`${server.url}/oauth/token`, body, headers);
  note("http", "token", c.clientId, scope, error);
  if (error) {
    expect(r.body.error).toBe(error);
    return undefined;
  }
  expect(r.status).toBe(200);
  return trackToken(r.body.access_token as string);
}

async function grpcToken(c: Credentials, how: "fields" | "basic", scope?: string, error?: string): Promise<string | undefined> {
  secrets.add(c.clientSecret);
  const req = how === "fields" ? { client_id: c.clientId, client_secret: c.clientSecret, scope: scope ?? "" } : { scope: scope ?? "" };
  const md: Record<string, string> = how === "basic" ? { authorization: basicHeader(c.clientId, c.clientSecret) } : {};
  note("grpc", "token", c.clientId, scope || undefined, error); // proto3 sends no scope as "": logged as absent, like HTTP
  try {
    return trackToken((await unary<{ access_token: string }>(tokens, "IssueToken", req, md)).access_token);
  } catch (e) {
    if (!error) throw new Error(`IssueToken failed: ${JSON.stringify(e)}`);
    expect((e as CallFailure).reason).toBe(error);
    return undefined;
  }
}

async function admin_<T = Record<string, unknown>>(
  client: grpc.Client,
  method: string,
  req: object,
  token: string,
  code = "ok",
): Promise<T> {
  adminCalls.push([method, code]);
  const res = await unary<T>(client, method, req, bearer(token)).catch((e: CallFailure) => {
    if (code === "ok") throw new Error(`${method}: ${JSON.stringify(e)}`);
    return e as unknown as T;
  });
  return res;
}

beforeAll(async () => {
  dir = tempDir("logs");
  const db = join(dir, "tessera.db");
  admin = await bootstrap(db);
  server = await startTessera({ db, args: ["--issuer", issuer], env: { TESSERA_KEK: KEK } });
  const target = `127.0.0.1:${server.port}`;
  tokens = opsClient("TokenService", target);
  clients = opsClient("ClientAdmin", target);
  keys = opsClient("KeyAdmin", target);

  // --- the session ---
  const sessionStarted = performance.now();
  const adminTok = (await grpcToken(admin, "fields", "tessera:admin"))!;
  await httpToken(admin, "basic", "tessera:admin");
  const mk = async (id: string, scopes: string[]) => {
    const r = await admin_<{ client: { client_id: string }; client_secret: string }>(
      clients,
      "CreateClient",
      { client_id: id, name: id, scopes },
      adminTok,
    );
    secrets.add(r.client_secret);
    return { clientId: r.client.client_id, clientSecret: r.client_secret };
  };
  const svc = await mk("svc", ["read", "write"]);
  const rs = await mk("resource-server", ["tessera:introspect"]);
  const doomed = await mk("doomed", ["read"]);

  const t1 = (await httpToken(svc, "basic", "read"))!;
  const t2 = (await httpToken(svc, "post"))!;
  const t3 = (await grpcToken(svc, "fields", "write"))!;
  await grpcToken(svc, "basic", "read write");
  await httpToken(doomed, "post");

  const wrong = (c: Credentials): Credentials => ({ clientId: c.clientId, clientSecret: `tsec_${randomBytes(24).toString("base64url")}` });
  await httpToken(wrong(svc), "basic", "read", "invalid_client");
  await httpToken(wrong(svc), "post", undefined, "invalid_client");
  await grpcToken(wrong(svc), "fields", undefined, "invalid_client");
  await grpcToken(wrong(svc), "basic", "read", "invalid_client");
  await httpToken({ clientId: "nobody", clientSecret: svc.clientSecret }, "post", undefined, "invalid_client");
  await httpToken(svc, "basic", "admin-powers", "invalid_scope");
  // Credentials in the query string are refused, and the URL is not logged either.
  const q = await httpRequest(
    "POST",
    `${server.url}/oauth/token?client_secret=${encodeURIComponent(svc.clientSecret)}`,
    { "content-type": "application/x-www-form-urlencoded", authorization: basicHeader(svc.clientId, svc.clientSecret) },
    "grant_type=client_credentials",
  );
  expect(q.status).toBe(400);
  note("http", "token", undefined, undefined, "invalid_request"); // refused before the client is read

  // Introspection and revocation, both doors.
  const intro = await postForm(
    `${server.url}/oauth/introspect`,
    { token: t1 },
    { authorization: basicHeader(rs.clientId, rs.clientSecret) },
  );
  expect(intro.body.active).toBe(true);
  note("http", "introspect", rs.clientId, undefined);
  const introG = await unary<{ active: boolean }>(tokens, "IntrospectToken", {
    client_id: rs.clientId,
    client_secret: rs.clientSecret,
    token: t3,
  });
  expect(introG.active).toBe(true);
  note("grpc", "introspect", rs.clientId, undefined);
  expect(
    (await postForm(`${server.url}/oauth/revoke`, { token: t2, client_id: svc.clientId, client_secret: svc.clientSecret })).status,
  ).toBe(200);
  note("http", "revoke", svc.clientId, undefined);
  await unary(tokens, "RevokeToken", { token: t3 }, { authorization: basicHeader(svc.clientId, svc.clientSecret) });
  note("grpc", "revoke", svc.clientId, undefined);
  const wrongRevoke = await postForm(
    `${server.url}/oauth/revoke`,
    { token: t1 },
    { authorization: basicHeader(svc.clientId, wrong(svc).clientSecret) },
  );
  expect(wrongRevoke.status).toBe(401);
  note("http", "revoke", svc.clientId, undefined, "invalid_client");

  // Secret rotation, then the new secret in use; the other admin changes; a key rotation.
  const rotated = await admin_<{ client_secret: string }>(
    clients,
    "RotateClientSecret",
    { client_id: "svc", grace_period: { seconds: "60" } },
    adminTok,
  );
  secrets.add(rotated.client_secret);
  await httpToken({ clientId: "svc", clientSecret: rotated.client_secret }, "basic", "read");
  await admin_(clients, "UpdateClient", { client: { client_id: "svc", name: "svc renamed" }, update_mask: { paths: ["name"] } }, adminTok);
  await admin_(clients, "RevokeClientTokens", { client_id: "svc" }, adminTok);
  await admin_(clients, "DeleteClient", { client_id: "doomed" }, adminTok);
  await admin_(keys, "RotateSigningKey", { force: true }, adminTok);
  // A forced rotation withdraws the keys that signed adminTok: the admin gets a new token.
  const afterRotation = (await grpcToken(admin, "fields", "tessera:admin"))!;
  await admin_(clients, "ListAuditEvents", {}, afterRotation);
  // Refused admin calls: a forged bearer token and a token without the admin scope.
  const forged = trackToken(`${adminTok.split(".").slice(0, 2).join(".")}.${randomBytes(64).toString("base64url")}`);
  await admin_(clients, "ListClients", {}, forged, "Unauthenticated");
  const rsToken = (await httpToken(rs, "post"))!;
  await admin_(clients, "ListClients", {}, rsToken, "PermissionDenied");
  sessionMs = performance.now() - sessionStarted;

  expect(await server.stop()).toEqual({ code: 0, signal: null });
}, 60_000);

afterAll(async () => {
  for (const c of [tokens, clients, keys]) c?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("structured JSON logs", () => {
  it("every stdout line is one JSON object with level, time and message", () => {
    expect(server.logs.filter((l) => "raw" in l)).toEqual([]);
    for (const l of server.logs) {
      expect(typeof l.level).toBe("number");
      expect(typeof l.time).toBe("number");
      expect(typeof l.msg).toBe("string");
    }
  });

  it("one line per token, revocation and introspection request, for both doors, with client, scope, outcome, error code and latency", () => {
    const lines = server.logs.filter((l) => l.msg === "token request");
    expect(
      lines.map((l) => ({
        transport: l.transport,
        endpoint: l.endpoint,
        client_id: l.client_id,
        scope: l.scope,
        outcome: l.outcome,
        error: l.error,
      })),
    ).toEqual(expected.map((e) => ({ ...e, scope: e.scope })));
    for (const l of lines) {
      expect(l.level).toBe(30);
      expect(typeof l.latency_ms).toBe("number");
      expect(l.latency_ms as number).toBeGreaterThanOrEqual(0);
      expect(l.origin).toBe("127.0.0.1");
    }
    // The requests ran one after another, so the server cannot have spent longer on them than
    // the whole session lasted for the client: latency_ms is milliseconds, not microseconds.
    const total = lines.reduce((sum, l) => sum + (l.latency_ms as number), 0);
    expect(total).toBeGreaterThan(0);
    expect(total).toBeLessThan(sessionMs);
  });

  it("admin calls are logged at info with service, method, status, actor and origin", () => {
    const lines = server.logs.filter((l) => l.msg === "admin call");
    expect(lines.map((l) => [l.method, l.code])).toEqual(adminCalls);
    for (const l of lines) {
      expect(l.level).toBe(30);
      expect(l.transport).toBe("grpc");
      expect(l.origin).toBe("127.0.0.1");
      expect(l.service).toMatch(/^(ClientAdmin|KeyAdmin)$/);
      expect(typeof l.latency_ms).toBe("number");
      // Only a caller who proved to be an admin is named.
      expect(l.actor).toBe(l.code === "ok" ? admin.clientId : undefined);
    }
  });

  it("the start-up configuration is logged at info, with the KEK only by id", () => {
    const config = server.logs.find((l) => l.msg === "configuration");
    expect(config?.level).toBe(30);
    const c = config!.config as Record<string, unknown>;
    expect(c).toMatchObject({ port: 0, host: "127.0.0.1", issuer, alg: "ES256", db: join(dir, "tessera.db") });
    expect(c.kek).toMatch(/^configured \(id [A-Za-z0-9_-]+\)$/);
    const enc = server.logs.find((l) => l.msg === "signing keys are encrypted at rest");
    expect(enc?.kek_id).toBe(String(c.kek).slice("configured (id ".length, -1));
    const stop = server.logs.slice(-2).map((l) => l.msg);
    expect(stop).toEqual(["shutting down", "stopped"]);
  });

  it("no secret, token, signature, Authorization header or KEK appears anywhere in stdout or stderr", () => {
    const out = server.output();
    expect(out.length).toBeGreaterThan(1000);
    expect(secrets.size).toBeGreaterThan(40);
    const leaked = [...secrets].filter((s) => out.includes(s));
    expect(leaked).toEqual([]);
    // Nothing that looks like one either.
    expect(out).not.toMatch(/tsec_/);
    expect(out).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
    expect(out).not.toMatch(/(Basic|Bearer) [A-Za-z0-9+/=_.-]{8,}/i);
  });
});
