import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientAdminCore } from "../../../src/core/client-admin.js";
import { ClientCredentialAdmin } from "../../../src/core/client-credential-admin.js";
import { SqliteStorage } from "../../../src/storage/sqlite/sqlite-storage.js";
import { type CallFailure, grpcClient, unary } from "../../helpers/grpc-js.js";
import { clientAssertion, newKey, type TestKey } from "../../helpers/key-issuer.js";
import { startTessera, type TesseraProcess } from "../../helpers/tessera-process.js";

// The jti replay store lives in the database, not in a process: two `tessera serve` processes
// on one SQLite file accept each private_key_jwt assertion once between them, over HTTP and gRPC.

const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const issuer = "http://tessera.replay.test";
let dir: string;
let a: TesseraProcess;
let b: TesseraProcess;
let key: TestKey;
let clientId: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tessera-replay-"));
  const db = join(dir, "tessera.db");
  a = await startTessera({ db, args: ["--issuer", issuer] });
  b = await startTessera({ db, args: ["--issuer", issuer] });
  key = await newKey("ES256");
  // A third connection to the same file, as `tessera clients` would be.
  const storage = SqliteStorage.open(db);
  try {
    const { client } = await new ClientAdminCore(storage, Date.now).create({
      clientId: "",
      name: "keys",
      scopes: ["read"],
      audiences: [],
      tokenTtlSeconds: undefined,
      authMethod: "private_key_jwt",
    });
    await new ClientCredentialAdmin(storage, Date.now, issuer).addKey(client.clientId, key.jwk);
    clientId = client.clientId;
  } finally {
    await storage.close();
  }
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

async function token(server: TesseraProcess, assertion: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${server.url}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_assertion_type: JWT_BEARER,
      client_assertion: assertion,
    }).toString(),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const REPLAYED = "The client_assertion's jti was used before: an assertion authenticates one request only (RFC 7523 section 3)";

describe("a jti replayed against another process on the same database", () => {
  it("is refused over HTTP by the second process after the first accepted it", async () => {
    const assertion = await clientAssertion(key, clientId, issuer);
    expect((await token(a, assertion)).status).toBe(200);
    expect(await token(b, assertion)).toStrictEqual({ status: 401, json: { error: "invalid_client", error_description: REPLAYED } });
  });

  it("is refused over gRPC as UNAUTHENTICATED with the reason invalid_client", async () => {
    const assertion = await clientAssertion(key, clientId, issuer);
    const viaA = grpcClient("TokenService", a.port);
    const viaB = grpcClient("TokenService", b.port);
    try {
      const issued = await unary<{ access_token: string }>(viaA, "IssueToken", {
        client_assertion_type: JWT_BEARER,
        client_assertion: assertion,
      });
      expect(issued.access_token).not.toBe("");
      const failure = await unary(viaB, "IssueToken", { client_assertion_type: JWT_BEARER, client_assertion: assertion }).then(
        () => undefined,
        (e: CallFailure) => e,
      );
      expect(failure).toEqual({ code: grpc.status.UNAUTHENTICATED, details: REPLAYED, reason: "invalid_client" });
    } finally {
      viaA.close();
      viaB.close();
    }
  });

  it("sent to both processes at once: exactly one accepts it", async () => {
    for (let round = 0; round < 5; round++) {
      const assertion = await clientAssertion(key, clientId, issuer);
      const answers = await Promise.all([token(a, assertion), token(b, assertion)]);
      expect(answers.map((x) => x.status).sort()).toEqual([200, 401]);
      expect(answers.find((x) => x.status === 401)?.json.error_description).toBe(REPLAYED);
    }
  });

  it("both processes log the auth method, and neither logs the assertion", async () => {
    const lines = [...a.logs, ...b.logs].filter((l) => l.auth_method === "private_key_jwt");
    expect(lines.length).toBeGreaterThan(0);
    const text = JSON.stringify([...a.logs, ...b.logs]);
    // The assertion's signature part never appears.
    expect(text).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/);
  });
});
