import { execFile, spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientAdminCore } from "../../../src/core/client-admin.js";
import { ClientCredentialAdmin } from "../../../src/core/client-credential-admin.js";
import { verifyWithJwks } from "../../helpers/jwks.js";
import { startTestServer, type TestServer } from "../../helpers/test-server.js";

// authlib's private_key_jwt client (python3-authlib), which nobody here wrote, against the real
// server: it signs its own assertions (typ JWT, no kid, a random jti) with a PEM key.

const PYTHON = "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("./authlib_private_key_jwt.py", import.meta.url));
const probe = spawnSync(PYTHON, ["-c", "import authlib, requests, cryptography"], { timeout: 30_000 });
const available = probe.status === 0;
if (!available)
  console.warn(
    "SKIPPED authlib private_key_jwt tests: /usr/bin/python3 lacks authlib, requests or cryptography (apt-get install python3-authlib)",
  );

const run = promisify(execFile);
let server: TestServer;
let dir: string;

/** A keys-only client holding the public half of a new key pair; the private half as a PEM file. */
async function clientWithKey(alg: "RS256" | "ES256"): Promise<{ clientId: string; pem: string }> {
  const pair = alg === "RS256" ? generateKeyPairSync("rsa", { modulusLength: 2048 }) : generateKeyPairSync("ec", { namedCurve: "P-256" });
  const admin = new ClientAdminCore(server.running.storage, Date.now);
  const { client } = await admin.create({
    clientId: "",
    name: "authlib",
    scopes: ["read"],
    audiences: [],
    tokenTtlSeconds: undefined,
    authMethod: "private_key_jwt",
  });
  await new ClientCredentialAdmin(server.running.storage, Date.now, server.issuer).addKey(client.clientId, {
    ...pair.publicKey.export({ format: "jwk" }),
    alg,
  });
  const pem = join(dir, `${client.clientId}.pem`);
  writeFileSync(pem, pair.privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600 });
  return { clientId: client.clientId, pem };
}

async function authlib(clientId: string, pem: string, alg: string, audience?: string): Promise<Record<string, unknown>> {
  const args = [SCRIPT, `${server.url}/oauth/token`, clientId, pem, alg, ...(audience === undefined ? [] : [audience])];
  const { stdout } = await run(PYTHON, args, { timeout: 30_000 });
  return JSON.parse(stdout.trim().split("\n").pop()!) as Record<string, unknown>;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tessera-authlib-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!available)("authlib's PrivateKeyJWT", () => {
  beforeAll(async () => {
    // authlib signs every assertion valid for an hour (exp = iat + 3600), beyond the 5 minute
    // default: the operator allows it with this setting.
    server = await startTestServer({ env: { TESSERA_MAX_ASSERTION_LIFETIME: "1h" } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("gets a token with RS256 (its default) when told the issuer as audience", async () => {
    const { clientId, pem } = await clientWithKey("RS256");
    const res = await authlib(clientId, pem, "RS256", server.issuer);
    expect(res).toMatchObject({ token_type: "Bearer", scope: "read" });
    const { payload } = await verifyWithJwks(server.url, res.access_token as string, server.issuer);
    expect(payload).toMatchObject({ sub: clientId, client_id: clientId });
  });

  it("gets a token with ES256", async () => {
    const { clientId, pem } = await clientWithKey("ES256");
    expect(await authlib(clientId, pem, "ES256", server.issuer)).toMatchObject({ token_type: "Bearer" });
  });

  it("with its default audience, the token endpoint URL, is refused with the reason (RFC 7523 revision)", async () => {
    const { clientId, pem } = await clientWithKey("ES256");
    expect(await authlib(clientId, pem, "ES256")).toEqual({
      error: "invalid_client",
      error_description: `The client_assertion's aud is '${server.url}/oauth/token': it must be the issuer identifier '${server.issuer}' alone`,
    });
  });
});

describe.skipIf(!available)("authlib's PrivateKeyJWT against the default settings", () => {
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("is refused for its hour-long assertions: at most 5 minutes unless --max-assertion-lifetime allows more", async () => {
    const { clientId, pem } = await clientWithKey("ES256");
    expect(await authlib(clientId, pem, "ES256", server.issuer)).toEqual({
      error: "invalid_client",
      error_description: "The client_assertion is valid for 3600s (exp - iat); at most 300s is accepted",
    });
  });
});
