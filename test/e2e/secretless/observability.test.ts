import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientAdminCore } from "../../../src/core/client-admin.js";
import { ClientCredentialAdmin } from "../../../src/core/client-credential-admin.js";
import { SqliteStorage } from "../../../src/storage/sqlite/sqlite-storage.js";
import { eventually } from "../../helpers/eventually.js";
import { clientAssertion, newKey, signJwt, type TestKey } from "../../helpers/key-issuer.js";
import { startTessera, type TesseraProcess } from "../../helpers/tessera-process.js";

// What an operator sees of secretless clients in a real `tessera serve`: the token request log
// line (auth method; a federated token's external issuer and subject) and the Prometheus
// counter of client authentications by method.

const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const issuer = "http://tessera.observed.test";
const CLUSTER = "https://kubernetes.default.svc";
const SUBJECT = "system:serviceaccount:billing:worker";
let dir: string;
let server: TesseraProcess;
let key: TestKey;
let clusterKey: TestKey;
let keysClient: string;
let federatedClient: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tessera-observed-"));
  const db = join(dir, "tessera.db");
  server = await startTessera({ db, args: ["--issuer", issuer] });
  [key, clusterKey] = await Promise.all([newKey("ES256"), newKey("RS256")]);
  const storage = SqliteStorage.open(db);
  try {
    const admin = new ClientAdminCore(storage, Date.now);
    const credentials = new ClientCredentialAdmin(storage, Date.now, issuer);
    const base = { clientId: "", scopes: ["read"], audiences: [], tokenTtlSeconds: undefined };
    keysClient = (await admin.create({ ...base, name: "keys", authMethod: "private_key_jwt" })).client.clientId;
    await credentials.addKey(keysClient, key.jwk);
    federatedClient = (await admin.create({ ...base, name: "pods", authMethod: "federated" })).client.clientId;
    await credentials.addFederatedCredential(federatedClient, {
      name: "billing pods",
      issuer: CLUSTER,
      subject: SUBJECT,
      jwksUri: undefined,
      jwks: { keys: [clusterKey.jwk] },
      audience: undefined,
      conditions: [],
      maxAgeSeconds: undefined,
      requireJti: false,
    });
  } finally {
    await storage.close();
  }
});

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function token(assertion: string, clientId?: string): Promise<number> {
  const res = await fetch(`${server.url}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_assertion_type: JWT_BEARER,
      client_assertion: assertion,
      ...(clientId ? { client_id: clientId } : {}),
    }),
  });
  await res.body?.cancel();
  return res.status;
}

async function authentications(): Promise<Map<string, number>> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^tessera_client_authentications_total\{([^}]*)\} (\d+)$/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

describe("logs and metrics of secretless clients", () => {
  it("a federated token's log line names the external issuer and subject; the counter has the auth method as a label", async () => {
    const now = Math.floor(Date.now() / 1000);
    const sa = await signJwt(clusterKey, { iss: CLUSTER, sub: SUBJECT, aud: issuer, iat: now, exp: now + 600 }, { typ: "JWT" });
    expect(await token(sa, federatedClient)).toBe(200);
    expect(await token(await clientAssertion(key, keysClient, issuer))).toBe(200);
    expect(await token(await clientAssertion(key, keysClient, "https://elsewhere.example"))).toBe(401);

    const federatedLine = () => server.logs.find((l) => l.msg === "token request" && l.auth_method === "federated");
    await eventually("the federated token's log line", () => federatedLine() !== undefined);
    expect(federatedLine()).toMatchObject({
      client_id: federatedClient,
      assertion_iss: CLUSTER,
      assertion_sub: SUBJECT,
      outcome: "success",
    });
    expect(
      await eventually(
        "two private_key_jwt token request lines",
        () => server.logs.filter((l) => l.msg === "token request" && l.auth_method === "private_key_jwt").length === 2,
      ),
    ).toBe(true);
    // The platform token and the assertions never appear in the log.
    expect(JSON.stringify(server.logs)).not.toContain(sa.split(".")[2]);

    const counts = await authentications();
    expect(counts.get('endpoint="token",auth_method="federated",outcome="success"')).toBe(1);
    expect(counts.get('endpoint="token",auth_method="private_key_jwt",outcome="success"')).toBe(1);
    expect(counts.get('endpoint="token",auth_method="private_key_jwt",outcome="error"')).toBe(1);
  });
});
