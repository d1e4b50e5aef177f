import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { type JWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { TokenError } from "../../../src/client/errors.js";
import { TokenClient } from "../../../src/client/token-client.js";
import { CLIENT_AUTH_METHODS } from "../../../src/core/client-auth/client-authenticators.js";
import { tempFiles, testClientKey } from "../../helpers/client-keys.js";
import { verifyWithJwks } from "../../helpers/jwks.js";
import { closedPort } from "../../helpers/stub-token-server.js";
import { bootstrap, type Credentials, runTessera, startTessera, type TesseraProcess, tempDir } from "../../helpers/tessera-process.js";

// The client side of secretless authentication against the real server: the SDK and
// `tessera token` with a private key or a platform token, keys made by `tessera keys
// generate-client-key` and registered with `tessera clients keys add`, a federated credential
// added with `tessera clients federation add`. They run once the server accepts client
// assertions (it lists private_key_jwt among its client authentication methods); until then
// they are skipped with the reason printed below.

const READY = (CLIENT_AUTH_METHODS as readonly string[]).includes("private_key_jwt");
const WAITS_FOR =
  "skipped: waits for the server side of private_key_jwt and workload identity federation " +
  "(private_key_jwt in the server's client authentication methods, `tessera clients keys add`, `tessera clients federation add`)";
if (!READY) console.warn(`test/e2e/secretless/client-side.test.ts ${WAITS_FOR}`);

vi.setConfig({ testTimeout: 60_000 });

let dir: string;
let server: TesseraProcess;
let admin: Credentials;
let adminEnv: Record<string, string>;
let files: ReturnType<typeof tempFiles>;

describe.skipIf(!READY)("secretless clients against the real server", () => {
  beforeAll(async () => {
    dir = tempDir("secretless-client");
    const db = join(dir, "tessera.db");
    // Reached at its own issuer, so clients learn the issuer from its metadata.
    const port = await closedPort();
    server = await startTessera({ db, args: ["--port", String(port), "--issuer", `http://127.0.0.1:${port}`] });
    admin = await bootstrap(db);
    adminEnv = { TESSERA_CLIENT_ID: admin.clientId, TESSERA_CLIENT_SECRET: admin.clientSecret, TESSERA_SERVER: server.url };
    files = tempFiles("tessera-secretless-");
  });
  afterAll(async () => {
    await server?.stop();
    files?.cleanup();
  });

  /** A new client through the admin CLI, authenticating by `authMethod`; its id. */
  async function createClient(name: string, authMethod: "private_key_jwt" | "federated"): Promise<string> {
    const r = await runTessera(["clients", "create", "--name", name, "--scope", "read", "--auth-method", authMethod, "--json"], {
      env: adminEnv,
    });
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { client_id: string }).client_id;
  }

  /** `tessera keys generate-client-key` then `tessera clients keys add` with what it printed; the private key's path. */
  async function registeredKey(clientId: string, alg: string): Promise<{ path: string; publicJwk: JWK }> {
    const path = join(files.dir, `${clientId}-${alg}.jwk`);
    const made = await runTessera(["keys", "generate-client-key", "--alg", alg, "--out", path]);
    expect(made.code, made.stderr).toBe(0);
    const added = await runTessera(["clients", "keys", "add", clientId, files.write(`${clientId}-${alg}.pub.jwk`, made.stdout)], {
      env: adminEnv,
    });
    expect(added.code, added.stderr).toBe(0);
    return { path, publicJwk: JSON.parse(made.stdout) as JWK };
  }

  for (const transport of ["http", "grpc"] as const) {
    it(`the SDK over ${transport} gets a token with a generated key, the issuer learned from the metadata, and a fresh assertion per request`, async () => {
      const clientId = await createClient(`sdk-${transport}`, "private_key_jwt");
      const { path } = await registeredKey(clientId, transport === "http" ? "ES256" : "EdDSA");
      const tokens = new TokenClient({ server: server.url, transport, clientId, privateKeyFile: path, env: {} });
      try {
        const first = await tokens.getToken({ scope: "read" });
        const { payload } = await verifyWithJwks(server.url, first, server.url);
        expect(payload).toMatchObject({ sub: clientId, client_id: clientId, scope: "read" });
        // A second request signs a new assertion: the server's replay store would refuse the old jti.
        tokens.invalidate();
        expect(await tokens.getToken({ scope: "read" })).not.toBe(first);
      } finally {
        await tokens.close();
      }
    });
  }

  it("tessera token --key with a key from generate-client-key; refused once the admin removed the key", async () => {
    const clientId = await createClient("cli-key", "private_key_jwt");
    const { path, publicJwk } = await registeredKey(clientId, "RS256");
    const r = await runTessera(["token", "--server", server.url, "--key", path], { env: { CLIENT_ID: clientId } });
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect((await verifyWithJwks(server.url, r.stdout.trim(), server.url)).payload.sub).toBe(clientId);
    const removed = await runTessera(["clients", "keys", "remove", clientId, "--", String(publicJwk.kid)], { env: adminEnv });
    expect(removed.code, removed.stderr).toBe(0);
    const refused = await runTessera(["token", "--server", server.url, "--key", path], { env: { CLIENT_ID: clientId } });
    expect({ code: refused.code, stdout: refused.stdout }).toEqual({ code: 1, stdout: "" });
    expect(refused.stderr).toMatch(
      new RegExp(
        `^tessera: invalid_client: The token service refused the signed client assertion: .*--key \\(${path.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}\\)`,
      ),
    );
  });

  it("a workload's platform token in a file, trusted through a federated credential, read again after the platform rotated it", async () => {
    const clientId = await createClient("federated", "federated");
    const platform = await testClientKey("RS256");
    const jwks = files.write("platform-jwks.json", JSON.stringify({ keys: [platform.publicJwk] }));
    const subject = "system:serviceaccount:billing:api";
    const added = await runTessera(
      ["clients", "federation", "add", clientId, "--issuer", "https://kubernetes.default.svc", "--subject", subject, "--jwks-file", jwks],
      { env: adminEnv },
    );
    expect(added.code, added.stderr).toBe(0);
    const platformToken = () =>
      new SignJWT({})
        .setProtectedHeader({ alg: "RS256", kid: platform.kid })
        .setIssuer("https://kubernetes.default.svc")
        .setSubject(subject)
        .setAudience(server.url) // the projected token's audience is Tessera's issuer
        .setIssuedAt()
        .setJti(randomUUID())
        .setExpirationTime("10m")
        .sign(platform.privateKey);
    const path = files.write("token", await platformToken());
    const tokens = new TokenClient({ server: server.url, env: { CLIENT_ID: clientId, CLIENT_ASSERTION_FILE: path } });
    try {
      const first = await tokens.getToken();
      expect((await verifyWithJwks(server.url, first, server.url)).payload.sub).toBe(clientId);
      files.write("token", await platformToken());
      tokens.invalidate();
      expect(await tokens.getToken()).not.toBe(first);
      // The CLI reads the same file.
      const r = await runTessera(["token", "--server", server.url, "--assertion-file", path], { env: { CLIENT_ID: clientId } });
      expect([r.code, r.stderr]).toEqual([0, ""]);
    } finally {
      await tokens.close();
    }
  });

  it("a key the server does not know: invalid_client with the server's reason, not retried", async () => {
    const clientId = await createClient("unknown-key", "private_key_jwt");
    await registeredKey(clientId, "ES256");
    const stranger = await testClientKey("ES256");
    const tokens = new TokenClient({ server: server.url, clientId, privateKey: stranger.privateJwk, env: {} });
    try {
      const err = (await tokens.getToken().catch((e: unknown) => e)) as TokenError;
      expect(err).toBeInstanceOf(TokenError);
      expect([err.code, err.attempts]).toEqual(["invalid_client", 1]);
      expect(err.message).toMatch(
        /^The token service refused the signed client assertion: .+\. Check the clientId passed to TokenClient and the privateKey passed to TokenClient, and that its public key is registered for the client\.$/,
      );
    } finally {
      await tokens.close();
    }
  });
});
