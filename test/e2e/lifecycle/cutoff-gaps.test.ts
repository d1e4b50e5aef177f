import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INTROSPECT_SCOPE } from "../../../src/core/introspect-token.js";
import { failure } from "../../helpers/grpc-js.js";
import { postForm } from "../../helpers/http.js";
import { adminToken, bearer, opsClient, unary } from "../../helpers/ops-grpc.js";
import type { Credentials } from "../../helpers/tessera-process.js";
import { basic, startTestServer, type TestServer } from "../../helpers/test-server.js";

// Cut-offs that must outlive the change that made them, against the real server on a real
// port: a client deleted and created again with the same id and the same scopes (in the same
// second, and a second later), and a scope taken away and given back. Cut-offs have one-second
// precision (token iat), so the server runs on a clock the test moves: "the same second" is
// then exactly that, however slowly a loaded machine runs the calls.

/** The server's clock, epoch ms: 100 ms into a second. */
let now = Math.floor(Date.now() / 1000) * 1000 + 100;
let server: TestServer;
let tokens: grpc.Client;
let clients: grpc.Client;
let md: Record<string, string>;
let rs: Credentials;

async function create(clientId: string, scopes: string[]): Promise<Credentials> {
  const r = await unary<{ client: { client_id: string }; client_secret: string }>(
    clients,
    "CreateClient",
    { client_id: clientId, name: clientId, scopes },
    md,
  );
  return { clientId: r.client.client_id, clientSecret: r.client_secret };
}

async function token(c: Credentials, scope?: string): Promise<string> {
  const r = await postForm(
    `${server.url}/oauth/token`,
    { grant_type: "client_credentials", ...(scope ? { scope } : {}) },
    { authorization: basic(c.clientId, c.clientSecret) },
  );
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.access_token as string;
}

async function introspect(t: string): Promise<Record<string, unknown>> {
  const r = await postForm(`${server.url}/oauth/introspect`, { token: t }, { authorization: basic(rs.clientId, rs.clientSecret) });
  expect(r.status).toBe(200);
  return r.body;
}

beforeAll(async () => {
  server = await startTestServer({ clock: () => now });
  const admin = await server.admin();
  tokens = opsClient("TokenService", `127.0.0.1:${server.port}`);
  clients = opsClient("ClientAdmin", `127.0.0.1:${server.port}`);
  md = bearer(await adminToken(tokens, admin));
  rs = await create("resource-server", [INTROSPECT_SCOPE]);
});
afterAll(async () => {
  tokens?.close();
  clients?.close();
  await server?.stop();
});

describe("a deleted client re-created with the same id and the same scopes", () => {
  it("within the same second: the deleted client's token stays inactive, the new client's is active", async () => {
    now += 1000; // a second of its own; the clock stays in it for the whole sequence
    const old = await create("billing-same", ["read", "write"]);
    const stale = await token(old);
    await unary(clients, "DeleteClient", { client_id: "billing-same" }, md);
    now += 800; // later, and still the same second
    const fresh = await create("billing-same", ["read", "write"]);
    expect(await introspect(stale)).toEqual({ active: false });
    expect(await introspect(await token(fresh))).toMatchObject({ active: true, client_id: "billing-same", scope: "read write" });
    expect(await introspect(stale)).toEqual({ active: false });
  });

  it("one second later: the same", async () => {
    now += 1000;
    const old = await create("billing-later", ["read", "write"]);
    const stale = await token(old);
    await unary(clients, "DeleteClient", { client_id: "billing-later" }, md);
    now += 1000; // the next second
    const fresh = await create("billing-later", ["read", "write"]);
    expect(await introspect(stale)).toEqual({ active: false });
    expect(await introspect(await token(fresh))).toMatchObject({ active: true, client_id: "billing-later" });
  });
});

describe("a scope taken away and given back", () => {
  it("tessera:admin removed, the secret rotated, tessera:admin given back: the stolen admin token stays refused by ClientAdmin", async () => {
    const ops = await create("ops", ["tessera:admin"]);
    const stolen = await token(ops);
    expect((await unary<{ client: { name: string } }>(clients, "GetClient", { client_id: "ops" }, bearer(stolen))).client.name).toBe("ops");

    await unary(clients, "UpdateClient", { client: { client_id: "ops", scopes: [] }, update_mask: { paths: ["scopes"] } }, md);
    const rotated = await unary<{ client_secret: string }>(
      clients,
      "RotateClientSecret",
      { client_id: "ops", grace_period: { seconds: 0 } },
      md,
    );
    await unary(
      clients,
      "UpdateClient",
      { client: { client_id: "ops", scopes: ["tessera:admin"] }, update_mask: { paths: ["scopes"] } },
      md,
    );

    expect((await failure(unary(clients, "GetClient", { client_id: "ops" }, bearer(stolen)))).code).toBe(grpc.status.UNAUTHENTICATED);
    // The admin with the new secret works.
    const mine = await token({ clientId: "ops", clientSecret: rotated.client_secret });
    expect((await unary<{ client: { name: string } }>(clients, "GetClient", { client_id: "ops" }, bearer(mine))).client.name).toBe("ops");
  });

  it("a token carrying a scope stays inactive after the scope comes back; a token without it was never touched", async () => {
    const svc = await create("svc", ["read", "write"]);
    const withWrite = await token(svc, "read write");
    const readOnly = await token(svc, "read");
    await unary(clients, "UpdateClient", { client: { client_id: "svc", scopes: ["read"] }, update_mask: { paths: ["scopes"] } }, md);
    await unary(
      clients,
      "UpdateClient",
      { client: { client_id: "svc", scopes: ["read", "write"] }, update_mask: { paths: ["scopes"] } },
      md,
    );
    expect(await introspect(withWrite)).toEqual({ active: false });
    expect(await introspect(readOnly)).toMatchObject({ active: true, scope: "read" });
    expect(await introspect(await token(svc, "read write"))).toMatchObject({ active: true, scope: "read write" });
  });
});
