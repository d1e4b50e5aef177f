import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failure, grpcClient, unary } from "../../helpers/grpc-js.js";
import { startTestServer, type TestServer } from "../../helpers/test-server.js";

interface ProtoClient {
  client_id: string;
  name: string;
  scopes: string[];
  audiences: string[];
  token_ttl: { seconds: string; nanos: number } | null;
  disabled: boolean;
  create_time: { seconds: string } | null;
  update_time: { seconds: string } | null;
  secrets: { secret_id: string; expire_time: { seconds: string } | null; last_used_time: unknown }[];
}

let now = Date.parse("2026-11-26T12:00:00Z");
let server: TestServer;
let admin: grpc.Client;
let tokens: grpc.Client;
let bearer: Record<string, string>;

async function token(id: string, secret: string, scope?: string): Promise<string> {
  const res = await unary<{ access_token: string }>(tokens, "IssueToken", { client_id: id, client_secret: secret, scope: scope ?? "" });
  return res.access_token;
}

beforeAll(async () => {
  server = await startTestServer({ clock: () => now });
  admin = grpcClient("ClientAdmin", server.port);
  tokens = grpcClient("TokenService", server.port);
  const a = await server.admin();
  bearer = { authorization: `Bearer ${await token(a.clientId, a.clientSecret)}` };
});
afterAll(async () => {
  admin?.close();
  tokens?.close();
  await server?.stop();
});

describe("ClientAdmin authentication", () => {
  it("refuses a call without a token as UNAUTHENTICATED", async () => {
    const f = await failure(unary(admin, "ListClients", {}));
    expect(f.code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it("refuses a garbage or foreign token as UNAUTHENTICATED", async () => {
    for (const t of ["garbage", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."]) {
      const f = await failure(unary(admin, "ListClients", {}, { authorization: `Bearer ${t}` }));
      expect(f.code).toBe(grpc.status.UNAUTHENTICATED);
    }
  });

  it("refuses a valid token without tessera:admin as PERMISSION_DENIED", async () => {
    const c = await server.createClient({ scopes: ["read"] });
    const f = await failure(unary(admin, "ListClients", {}, { authorization: `Bearer ${await token(c.clientId, c.clientSecret)}` }));
    expect(f.code).toBe(grpc.status.PERMISSION_DENIED);
    // grpc-js decodes grpc-message with decodeURI, which leaves %3A encoded; other gRPC
    // implementations decode it fully.
    expect(decodeURIComponent(f.details)).toContain("tessera:admin");
  });
});

describe("ClientAdmin RPCs (grpc-js client, real server)", () => {
  it("creates a client whose secret works at once and is never shown again", async () => {
    const res = await unary<{ client: ProtoClient; client_secret: string }>(
      admin,
      "CreateClient",
      { name: "billing", scopes: ["read", "write"], audiences: ["https://api.example.com"], token_ttl: { seconds: 600 } },
      bearer,
    );
    expect(res.client_secret).toMatch(/^tsec_[0-9A-Za-z]{49}$/);
    expect(res.client).toMatchObject({
      name: "billing",
      scopes: ["read", "write"],
      audiences: ["https://api.example.com"],
      disabled: false,
    });
    expect(res.client.token_ttl?.seconds).toBe("600");
    expect(res.client.secrets).toHaveLength(1);
    expect(JSON.stringify(res.client)).not.toContain(res.client_secret);
    const issued = await unary<{ expires_in: number }>(tokens, "IssueToken", {
      client_id: res.client.client_id,
      client_secret: res.client_secret,
    });
    expect(issued.expires_in).toBe(600);

    const got = await unary<{ client: ProtoClient }>(admin, "GetClient", { client_id: res.client.client_id }, bearer);
    expect(got.client.client_id).toBe(res.client.client_id);
    expect(JSON.stringify(got)).not.toContain("tsec_");
  });

  it("creates with a chosen id, and a taken id is ALREADY_EXISTS", async () => {
    await unary(admin, "CreateClient", { client_id: "inventory-svc", name: "inventory" }, bearer);
    const f = await failure(unary(admin, "CreateClient", { client_id: "inventory-svc", name: "again" }, bearer));
    expect(f.code).toBe(grpc.status.ALREADY_EXISTS);
  });

  it("answers bad field values with INVALID_ARGUMENT naming the field", async () => {
    const cases: [object, string][] = [
      [{ name: "" }, "name"],
      [{ name: "x", scopes: ["bad scope"] }, "scopes"],
      [{ name: "x", token_ttl: { seconds: 0 } }, "token_ttl"],
      [{ name: "x", token_ttl: { seconds: 999999 } }, "token_ttl"],
      [{ name: "x", client_id: "has space" }, "client_id"],
    ];
    for (const [req, field] of cases) {
      const f = await failure(unary(admin, "CreateClient", req, bearer));
      expect(f.code, JSON.stringify(req)).toBe(grpc.status.INVALID_ARGUMENT);
      expect(f.details.startsWith(`${field} `), f.details).toBe(true);
    }
  });

  it("answers unknown ids with NOT_FOUND on every RPC", async () => {
    for (const [method, req] of [
      ["GetClient", { client_id: "nope" }],
      ["DeleteClient", { client_id: "nope" }],
      ["RotateClientSecret", { client_id: "nope" }],
      ["UpdateClient", { client: { client_id: "nope", name: "n" }, update_mask: { paths: ["name"] } }],
    ] as const) {
      const f = await failure(unary(admin, method, req, bearer));
      expect(f.code, method).toBe(grpc.status.NOT_FOUND);
    }
  });

  it("lists clients a page at a time", async () => {
    for (let i = 0; i < 5; i++) await unary(admin, "CreateClient", { client_id: `page-${i}`, name: `p${i}` }, bearer);
    const seen: string[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const res = await unary<{ clients: ProtoClient[]; next_page_token: string }>(
        admin,
        "ListClients",
        { page_size: 2, page_token: pageToken },
        bearer,
      );
      expect(res.clients.length).toBeLessThanOrEqual(2);
      seen.push(...res.clients.map((c) => c.client_id));
      pageToken = res.next_page_token;
      pages++;
    } while (pageToken !== "" && pages < 100);
    expect(seen).toEqual([...seen].sort());
    expect(seen).toEqual(expect.arrayContaining(["page-0", "page-1", "page-2", "page-3", "page-4"]));
    expect(new Set(seen).size).toBe(seen.length);
    const bad = await failure(unary(admin, "ListClients", { page_token: "!!" }, bearer));
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.details).toMatch(/^page_token /);
  });

  it("updates only the fields in update_mask; disabling stops token issuance at once", async () => {
    const c = await server.createClient({ name: "svc", scopes: ["a", "b"] });
    const res = await unary<{ client: ProtoClient }>(
      admin,
      "UpdateClient",
      { client: { client_id: c.clientId, name: "renamed", scopes: ["zzz"] }, update_mask: { paths: ["name"] } },
      bearer,
    );
    expect(res.client.name).toBe("renamed");
    expect(res.client.scopes).toEqual(["a", "b"]);
    const noMask = await failure(unary(admin, "UpdateClient", { client: { client_id: c.clientId } }, bearer));
    expect(noMask.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(noMask.details).toMatch(/^update_mask /);
    const badPath = await failure(
      unary(admin, "UpdateClient", { client: { client_id: c.clientId }, update_mask: { paths: ["client_id"] } }, bearer),
    );
    expect(badPath.code).toBe(grpc.status.INVALID_ARGUMENT);

    await unary(admin, "UpdateClient", { client: { client_id: c.clientId, disabled: true }, update_mask: { paths: ["disabled"] } }, bearer);
    const f = await failure(token(c.clientId, c.clientSecret));
    expect(f).toMatchObject({ code: grpc.status.UNAUTHENTICATED, reason: "invalid_client" });
  });

  it("deletes a client: its credentials stop working and it is gone", async () => {
    const c = await server.createClient();
    await unary(admin, "DeleteClient", { client_id: c.clientId }, bearer);
    expect((await failure(token(c.clientId, c.clientSecret))).reason).toBe("invalid_client");
    expect((await failure(unary(admin, "GetClient", { client_id: c.clientId }, bearer))).code).toBe(grpc.status.NOT_FOUND);
  });

  it("rotates a secret: the old one works during the grace period and stops exactly when it ends", async () => {
    const c = await server.createClient();
    const res = await unary<{ client: ProtoClient; client_secret: string }>(
      admin,
      "RotateClientSecret",
      { client_id: c.clientId, grace_period: { seconds: 300 } },
      bearer,
    );
    expect(res.client_secret).not.toBe(c.clientSecret);
    expect(res.client.secrets).toHaveLength(2);
    const old = res.client.secrets.find((s) => s.expire_time !== null)!;
    expect(Number(old.expire_time!.seconds) * 1000).toBe(now + 300_000);

    await token(c.clientId, c.clientSecret);
    await token(c.clientId, res.client_secret);
    const start = now;
    try {
      now = start + 299_999;
      await token(c.clientId, c.clientSecret);
      now = start + 300_000;
      expect((await failure(token(c.clientId, c.clientSecret))).reason).toBe("invalid_client");
      await token(c.clientId, res.client_secret);
    } finally {
      now = start;
    }
  });

  it("rotates with a zero grace period: the old secret is revoked at once", async () => {
    const c = await server.createClient();
    const res = await unary<{ client_secret: string }>(
      admin,
      "RotateClientSecret",
      { client_id: c.clientId, grace_period: { seconds: 0 } },
      bearer,
    );
    expect((await failure(token(c.clientId, c.clientSecret))).reason).toBe("invalid_client");
    await token(c.clientId, res.client_secret);
    const neg = await failure(unary(admin, "RotateClientSecret", { client_id: c.clientId, grace_period: { seconds: -5 } }, bearer));
    expect(neg.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(neg.details).toMatch(/^grace_period /);
  });
});
