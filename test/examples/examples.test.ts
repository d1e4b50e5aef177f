import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { TokenClient } from "../../src/client/token-client.js";
import { closedPort } from "../helpers/stub-token-server.js";
import { type RunResult, runNode } from "../helpers/tessera-process.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// Each example runs as a user would run it (`npx tsx examples/x.ts`), importing the package
// entry points tessera-oauth/client and tessera-oauth/verify, which resolve to dist/ (built by `npm test`).
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const AUD = "https://api.example.com";

// Each run starts a Node process that compiles TypeScript (tsx): seconds on a busy machine.
vi.setConfig({ testTimeout: 60_000 });

let tessera: TestServer;
let api: ChildProcess;
let apiUrl: string;
let creds: { clientId: string; clientSecret: string };

/** Runs an example (a path under examples/, or an absolute path) to completion with `env` (plus PATH) and returns its output. */
function run(example: string, args: string[], env: Record<string, string>): Promise<RunResult> {
  return runNode(["--import", "tsx", example.startsWith("/") ? example : `examples/${example}`, ...args], {
    cwd: ROOT,
    env,
    timeoutMs: 60_000,
  });
}

const clientEnv = () => ({
  TESSERA_SERVER: tessera.url,
  CLIENT_ID: creds.clientId,
  CLIENT_SECRET: creds.clientSecret,
  API_URL: apiUrl,
  API_AUDIENCE: AUD,
});

beforeAll(async () => {
  if (!existsSync(`${ROOT}dist/src/client/index.js`))
    throw new Error("dist/ is missing: run `npm run build` (npm test does it) before the example tests");
  tessera = await startTestServer();
  creds = await tessera.createClient({ scopes: ["read", "write"], audiences: [AUD] });
  api = spawn(process.execPath, ["--import", "tsx", "examples/protected-api.ts"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      PORT: "0",
      TESSERA_ISSUER: tessera.issuer,
      API_AUDIENCE: AUD,
      TESSERA_JWKS_URI: `${tessera.url}/.well-known/jwks.json`,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    api.once("exit", (code) => reject(new Error(`protected-api exited with ${code}`)));
    createInterface({ input: api.stdout! }).once("line", (line) => resolve((JSON.parse(line) as { port: number }).port));
  });
  apiUrl = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  api?.kill();
  await tessera?.stop();
});

describe("examples/protected-api.ts", () => {
  it("answers GET /api/resource only with a valid token, RFC 6750 style otherwise", async () => {
    const bare = await fetch(`${apiUrl}/api/resource`);
    expect(bare.status).toBe(401);
    expect(bare.headers.get("www-authenticate")).toBe(`Bearer realm="${AUD}"`);
    const bad = await fetch(`${apiUrl}/api/resource`, { headers: { authorization: "Bearer abc.def.ghi" } });
    expect(bad.status).toBe(401);
    expect(bad.headers.get("www-authenticate")).toContain('error="invalid_token"');
    expect((await fetch(`${apiUrl}/elsewhere`)).status).toBe(404);
  });
});

describe("examples/batch-job.ts", () => {
  it("authenticates, fetches and processes the data", async () => {
    const r = await run("batch-job.ts", [], clientEnv());
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ processed: 3, items: ["RESOURCE 1", "RESOURCE 2", "RESOURCE 3"] });
  });

  it("fails with the SDK's advice, and without the secret, when the credentials are wrong", async () => {
    const r = await run("batch-job.ts", [], { ...clientEnv(), CLIENT_SECRET: "tsec_wrong" });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe("batch job failed: Invalid client credentials. Check CLIENT_ID and CLIENT_SECRET.\n");
  });
});

describe("examples/microservice.ts", () => {
  for (const transport of ["http", "grpc"]) {
    it(`makes 10 parallel calls with one token fetched over ${transport}`, async () => {
      const r = await run("microservice.ts", [], { ...clientEnv(), TESSERA_TRANSPORT: transport });
      expect(r.stderr).toBe("");
      expect(JSON.parse(r.stdout)).toMatchObject({ calls: 10, tokenRequests: 1 });
    });
  }
});

describe("examples/cli.ts", () => {
  it("login prints who it authenticated as, the scope and how long the token lasts", async () => {
    const r = await run("cli.ts", ["login"], clientEnv());
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `Authenticating...\n✓ Authenticated successfully as ${creds.clientId} (scope: read write; token valid for 60 minutes)\n`,
    );
    expect(r.stdout).not.toContain("eyJ");
  });

  it("token prints just the token, or the OAuth JSON with --json", async () => {
    const plain = await run("cli.ts", ["token", "--scope", "read"], clientEnv());
    expect(plain.stdout).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const json = await run("cli.ts", ["token", "--scope", "read", "--audience", AUD, "--json"], clientEnv());
    expect(JSON.parse(json.stdout)).toMatchObject({ token_type: "Bearer", scope: "read", expires_in: expect.any(Number) as number });
  });

  it("explains failures: wrong secret (exit 1), missing credentials (exit 2)", async () => {
    const wrong = await run("cli.ts", ["login"], { ...clientEnv(), CLIENT_SECRET: "tsec_wrong" });
    expect([wrong.code, wrong.stderr]).toEqual([1, "✗ Invalid client credentials. Check CLIENT_ID and CLIENT_SECRET.\n"]);
    const none = await run("cli.ts", ["token"], { TESSERA_SERVER: tessera.url });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^✗ No client id: pass credentials or set CLIENT_ID\.\n/);
  });
});

describe("examples/grpc-admin.ts", () => {
  it("lists clients over gRPC with the SDK's interceptor", async () => {
    const admin = await tessera.admin();
    const r = await run("grpc-admin.ts", [], {
      TESSERA_SERVER: tessera.url,
      TESSERA_CLIENT_ID: admin.clientId,
      TESSERA_CLIENT_SECRET: admin.clientSecret,
    });
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain(`${creds.clientId}\ttest client\tread write`);
  });
});

describe("with the token service down, each example says what failed in one line and exits non-zero", () => {
  let down: Record<string, string>;
  beforeAll(async () => {
    down = { ...clientEnv(), TESSERA_SERVER: `http://127.0.0.1:${await closedPort()}` };
  });
  const unreachable =
    /^Could not reach the token service at http:\/\/127\.0\.0\.1:\d+(\/oauth\/token)?: connect ECONNREFUSED [^\n]*Check the server URL and the network\.\n$/;

  it("batch-job.ts: prints its failure line and exits 3", async () => {
    const r = await run("batch-job.ts", [], down);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 3, stdout: "" });
    expect(r.stderr.replace(/^batch job failed: /, "")).toMatch(unreachable);
    expect(r.stderr).toMatch(/^batch job failed: /);
  });

  for (const transport of ["http", "grpc"]) {
    it(`microservice.ts over ${transport}: exits 3 with one line`, async () => {
      const r = await run("microservice.ts", [], { ...down, TESSERA_TRANSPORT: transport });
      expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 3, stdout: "" });
      expect(r.stderr).toMatch(/^orders service failed: /);
      expect(r.stderr.replace(/^orders service failed: /, "")).toMatch(unreachable);
    });
  }

  it("cli.ts login: exits 1 with the SDK's sentence", async () => {
    const r = await run("cli.ts", ["login"], down);
    expect(r.code).toBe(1);
    expect(r.stderr.replace(/^✗ /, "")).toMatch(unreachable);
  });

  it("grpc-admin.ts: exits 3 with the reason no token could be had", async () => {
    const admin = await tessera.admin();
    const r = await run("grpc-admin.ts", [], {
      TESSERA_SERVER: down.TESSERA_SERVER!,
      TESSERA_CLIENT_ID: admin.clientId,
      TESSERA_CLIENT_SECRET: admin.clientSecret,
    });
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 3, stdout: "" });
    expect(r.stderr).toMatch(/^listing clients failed: /);
    expect(r.stderr.replace(/^listing clients failed: /, "")).toMatch(unreachable);
  });

  it("protected-api.ts: answers 503 with Retry-After while the issuer's keys cannot be fetched", async () => {
    const blind = spawn(process.execPath, ["--import", "tsx", "examples/protected-api.ts"], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        PORT: "0",
        TESSERA_ISSUER: tessera.issuer,
        API_AUDIENCE: AUD,
        TESSERA_JWKS_URI: `${down.TESSERA_SERVER}/.well-known/jwks.json`,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        blind.once("exit", (code) => reject(new Error(`protected-api exited with ${code}`)));
        createInterface({ input: blind.stdout! }).once("line", (line) => resolve((JSON.parse(line) as { port: number }).port));
      });
      const client = new TokenClient({ server: tessera.url, ...creds, scope: "read" });
      const res = await fetch(`http://127.0.0.1:${port}/api/resource`, { headers: { authorization: `Bearer ${await client.getToken()}` } });
      await client.close();
      expect([res.status, res.headers.get("retry-after")]).toEqual([503, "30"]);
      expect(await res.json()).toEqual({
        error: "temporarily_unavailable",
        error_description: "The token issuer's keys are unavailable; retry later",
      });
    } finally {
      blind.kill();
    }
  });
});

describe("the README's SDK example, run as a script", () => {
  // The first TypeScript block of the README's Node.js section, with the addresses of this test.
  const readme = readFileSync(`${ROOT}README.md`, "utf8");
  const section = readme.slice(readme.indexOf("## Using Tessera from Node.js"));
  const code = /```ts\n([\s\S]*?)```/.exec(section)![1]!;
  const script = `${ROOT}.tmp/readme-example-${process.pid}.ts`;

  beforeAll(() => {
    expect(code).toContain('server: "http://localhost:8080"');
    expect(code).toContain('"https://api.example.com/api/resource"');
    mkdirSync(`${ROOT}.tmp`, { recursive: true });
  });
  afterAll(() => rmSync(script, { force: true }));

  const write = (server: string) =>
    writeFileSync(
      script,
      code.replace("http://localhost:8080", server).replace("https://api.example.com/api/resource", `${apiUrl}/api/resource`),
    );

  it("prints the API's answer and exits 0 with the server up", async () => {
    write(tessera.url);
    const r = await run(script, [], clientEnv());
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toContain("Resource 1");
  });

  it("prints one line and exits 1 with the server down", async () => {
    write(`http://127.0.0.1:${await closedPort()}`);
    const r = await run(script, [], clientEnv());
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 1, stdout: "" });
    expect(r.stderr).toMatch(/^report failed: Could not reach the token service at .*\n$/);
  });
});
