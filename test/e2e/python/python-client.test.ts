import { execFile, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyWithJwks } from "../../helpers/jwks.js";
import { startTestServer, type TestServer } from "../../helpers/test-server.js";

// Debian's python3 with python3-grpcio and python3-grpc-tools. Never the `python3` on PATH: here
// that is a pyenv build without these modules.
const PYTHON = "/usr/bin/python3";
const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const CLIENT_PY = fileURLToPath(new URL("./client.py", import.meta.url));
const PROTOS = [
  "tessera/v1/token_service.proto",
  "tessera/v1/client_admin.proto",
  "google/rpc/status.proto",
  "google/rpc/error_details.proto",
];

const probe = spawnSync(PYTHON, ["-c", "import grpc, grpc_tools.protoc"], { timeout: 30_000 });
const available = probe.status === 0;
if (!available) {
  console.warn(
    "SKIPPED Python gRPC client tests: /usr/bin/python3 lacks grpcio/grpc_tools (apt-get install python3-grpcio python3-grpc-tools)",
  );
}

const run = promisify(execFile);

interface TokenOut {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
}
interface PyClient {
  client_id: string;
  name: string;
  scopes?: string[];
  audiences?: string[];
  token_ttl?: string;
  secrets?: { secret_id: string; create_time: string; expire_time?: string }[];
}
interface AdminOut {
  admin_token_scope: string;
  create: { client: PyClient; client_secret: string };
  get: { client: PyClient };
  list: { clients: PyClient[]; next_page_token?: string };
  rotate: { client: PyClient; client_secret: string };
}

let server: TestServer;
let dir: string;
let stubs: string;

/** Runs client.py in `mode` and returns the JSON line it printed. */
async function python<T>(mode: string, args: string[] = [], env: Record<string, string> = {}): Promise<T> {
  try {
    const { stdout } = await run(PYTHON, [CLIENT_PY, mode, ...args], {
      timeout: 20_000,
      env: { ...process.env, TESSERA_STUBS: stubs, TESSERA_ADDR: `127.0.0.1:${server.port}`, ...env },
    });
    const lines = stdout.trim().split("\n");
    return JSON.parse(lines[lines.length - 1]!) as T;
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`client.py ${mode} failed: ${err.message}\n${err.stderr ?? ""}`);
  }
}

describe.skipIf(!available)("Python gRPC client (grpcio, stubs generated from proto/ by grpc_tools)", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tessera-py-"));
    // Not named `grpc`: generated packages there would shadow the real grpc module.
    stubs = join(dir, "stubs");
    mkdirSync(stubs);
    const gen = spawnSync(
      PYTHON,
      ["-m", "grpc_tools.protoc", "-I", "proto", `--python_out=${stubs}`, `--grpc_python_out=${stubs}`, ...PROTOS],
      { cwd: REPO, encoding: "utf8", timeout: 30_000 },
    );
    if (gen.status !== 0) throw new Error(`grpc_tools.protoc failed (${gen.status}): ${gen.stderr}`);
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("IssueToken with credentials in the request fields (from env) returns a token the JWKS verifies", async () => {
    const c = await server.createClient({ scopes: ["read", "write"], audiences: ["https://api.example.com"] });
    const res = await python<TokenOut>("token", ["--scope", "read"], {
      TESSERA_CLIENT_ID: c.clientId,
      TESSERA_CLIENT_SECRET: c.clientSecret,
    });
    expect(res.token_type).toBe("Bearer");
    expect(res.expires_in).toBe(3600);
    expect(res.scope).toBe("read");
    const { payload, protectedHeader } = await verifyWithJwks(server.url, res.access_token, server.issuer, "https://api.example.com");
    expect(protectedHeader.typ).toBe("at+jwt");
    expect(payload).toMatchObject({ sub: c.clientId, client_id: c.clientId, scope: "read", aud: "https://api.example.com" });
  });

  it("IssueToken with credentials and audience on the command line", async () => {
    const c = await server.createClient({ scopes: ["read"], audiences: ["https://a.example", "https://b.example"], tokenTtlSeconds: 120 });
    const res = await python<TokenOut>("token", [
      "--client-id",
      c.clientId,
      "--client-secret",
      c.clientSecret,
      "--audience",
      "https://b.example",
    ]);
    expect(res).toMatchObject({ token_type: "Bearer", expires_in: 120, scope: "read" });
    const { payload } = await verifyWithJwks(server.url, res.access_token, server.issuer, "https://b.example");
    expect(payload.aud).toBe("https://b.example");
  });

  it("IssueToken with Basic credentials in the authorization metadata, id needing no escape and one with . ~ -", async () => {
    for (const clientId of ["", "py.client~basic-1"]) {
      const c = await server.createClient({ ...(clientId ? { clientId } : {}), scopes: ["read", "write"] });
      const res = await python<TokenOut>("token-basic", ["--client-id", c.clientId, "--client-secret", c.clientSecret]);
      expect(res).toMatchObject({ token_type: "Bearer", expires_in: 3600, scope: "read write" });
      const { payload } = await verifyWithJwks(server.url, res.access_token, server.issuer);
      expect(payload.sub).toBe(c.clientId);
    }
  });

  it("a wrong secret is UNAUTHENTICATED with ErrorInfo reason invalid_client in grpc-status-details-bin", async () => {
    const c = await server.createClient();
    const res = await python<{ code: string; details: string; reason: string; domain: string; status_code: number }>("wrong-secret", [
      "--client-id",
      c.clientId,
    ]);
    expect(res).toEqual({
      code: "UNAUTHENTICATED",
      details: "Client authentication failed",
      reason: "invalid_client",
      domain: server.issuer,
      status_code: 16,
    });
  });

  it("ClientAdmin: create (token_ttl as Duration), get, list and rotate with a Bearer admin token; the secrets work", async () => {
    const a = await server.admin();
    const res = await python<AdminOut>("admin", ["--new-client-name", "from-python"], {
      TESSERA_CLIENT_ID: a.clientId,
      TESSERA_CLIENT_SECRET: a.clientSecret,
    });
    expect(res.admin_token_scope).toBe("tessera:admin");

    const created = res.create.client;
    expect(res.create.client_secret).toMatch(/^tsec_[0-9A-Za-z]{49}$/);
    expect(created).toMatchObject({
      name: "from-python",
      scopes: ["read", "write"],
      audiences: ["https://api.example.com"],
      token_ttl: "600s",
    });
    expect(created.secrets).toHaveLength(1);
    expect(JSON.stringify(created)).not.toContain(res.create.client_secret);

    expect(res.get.client).toEqual(created);
    expect(res.list.clients.map((c) => c.client_id)).toContain(created.client_id);
    expect(res.list.clients.map((c) => c.client_id)).toContain(a.clientId);

    expect(res.rotate.client_secret).toMatch(/^tsec_/);
    expect(res.rotate.client_secret).not.toBe(res.create.client_secret);
    const secrets = res.rotate.client.secrets ?? [];
    expect(secrets).toHaveLength(2);
    // Newest first: the new secret does not expire, the old one keeps working for its grace period.
    expect(secrets[0]!.expire_time).toBeUndefined();
    expect(secrets[1]!.secret_id).toBe(created.secrets![0]!.secret_id);
    expect(Date.parse(secrets[1]!.expire_time!)).toBeGreaterThan(Date.now() + 3000_000);

    // Both the secret CreateClient returned to Python and the rotated one now obtain tokens.
    for (const secret of [res.create.client_secret, res.rotate.client_secret]) {
      const t = await python<TokenOut>("token", ["--client-id", created.client_id, "--client-secret", secret]);
      expect(t).toMatchObject({ token_type: "Bearer", expires_in: 600, scope: "read write" });
      const { payload } = await verifyWithJwks(server.url, t.access_token, server.issuer, "https://api.example.com");
      expect(payload.sub).toBe(created.client_id);
      expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(600);
    }
  });
});
