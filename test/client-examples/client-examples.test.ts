import { execFile, spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyWithJwks } from "../helpers/jwks.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

// Clients of the token endpoint written the way OAuth client-credentials tutorials write them
// (curl, Python requests, Go net/http, Node axios), each run as a real child process against the
// real server. They take the URL from TOKEN_URL, since the test server listens on a random port.

const run = promisify(execFile);
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const PYTHON = "/usr/bin/python3";
const GO = "/usr/bin/go";

/** Checks a tool synchronously at collection time; warns visibly when its test will be skipped. */
function tool(example: string, check: () => string | undefined): { available: boolean } {
  const problem = check();
  if (problem !== undefined) console.warn(`SKIPPED the ${example} client example: ${problem}`);
  return { available: problem === undefined };
}

const ok = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: "ignore", timeout: 30_000 }).status === 0;

const curl = tool("cURL", () => (ok("curl", ["--version"]) ? undefined : "curl not found on PATH (apt-get install curl)"));
const python = tool("Python", () => {
  if (!ok(PYTHON, ["--version"])) return `${PYTHON} not found (apt-get install python3 python3-requests)`;
  if (!ok(PYTHON, ["-c", "import requests"])) return `${PYTHON} cannot import requests (apt-get install python3-requests)`;
  return undefined;
});
const go = tool("Go", () => (ok(GO, ["version"]) ? undefined : `${GO} not found (apt-get install golang-go)`));
const node = tool("Node.js axios", () => {
  try {
    createRequire(import.meta.url).resolve("axios");
    return undefined;
  } catch {
    return "axios is not installed (npm install --save-dev axios)";
  }
});

let server: TestServer;
let client: { clientId: string; clientSecret: string };

beforeAll(async () => {
  server = await startTestServer();
  client = await server.createClient({ scopes: ["read", "write"] });
});

afterAll(async () => {
  await server?.stop();
});

/** Runs an example with the client's credentials and the test server's token URL. */
async function example(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeout: number }): Promise<string> {
  const { stdout } = await run(cmd, args, {
    cwd: opts.cwd,
    timeout: opts.timeout,
    env: {
      ...process.env,
      ...opts.env,
      CLIENT_ID: client.clientId,
      CLIENT_SECRET: client.clientSecret,
      TOKEN_URL: `${server.url}/oauth/token`,
      // A proxy configured for the machine must not intercept loopback.
      NO_PROXY: "127.0.0.1,localhost",
      no_proxy: "127.0.0.1,localhost",
    },
  });
  return stdout;
}

/** What the Python, Go and Node examples print: "Access Token: <jwt>" and "Expires in: 3600 seconds". */
async function expectPrintedToken(stdout: string): Promise<void> {
  const token = /^Access Token: (\S+)$/m.exec(stdout)?.[1];
  expect(token, `no "Access Token:" line in:\n${stdout}`).toBeDefined();
  expect(stdout).toMatch(/^Expires in: 3600 seconds$/m);
  await expectValidToken(token!);
}

async function expectValidToken(token: string): Promise<void> {
  const { payload, protectedHeader } = await verifyWithJwks(server.url, token, server.issuer);
  expect(protectedHeader.typ).toBe("at+jwt");
  expect(payload).toMatchObject({ iss: server.issuer, sub: client.clientId, client_id: client.clientId, scope: "read write" });
}

describe("client examples against the real server", () => {
  it.skipIf(!curl.available)("cURL: prints the token response JSON", async () => {
    const stdout = await example("sh", [here("./curl.sh")], { timeout: 20_000 });
    const body = JSON.parse(stdout) as Record<string, unknown>;
    expect(body).toStrictEqual({ access_token: expect.any(String), token_type: "Bearer", expires_in: 3600, scope: "read write" });
    await expectValidToken(body.access_token as string);
  });

  it.skipIf(!python.available)("Python requests: get_client_credentials_token", async () => {
    await expectPrintedToken(await example(PYTHON, [here("./python_client.py")], { timeout: 30_000 }));
  });

  it.skipIf(!node.available)("Node.js axios: getClientCredentialsToken", async () => {
    await expectPrintedToken(await example(process.execPath, [here("./node-client.cjs")], { timeout: 20_000 }));
  });

  // The first `go run` compiles the standard library packages it needs: allow minutes.
  it.skipIf(!go.available)(
    "Go net/http: getClientCredentialsToken",
    async () => {
      const stdout = await example(GO, ["run", "main.go"], {
        cwd: here("./go/"),
        timeout: 170_000,
        env: {
          // Standard library only: no module downloads, no toolchain switch.
          GOPROXY: "off",
          GOFLAGS: "",
          GOTOOLCHAIN: "local",
          GOCACHE: process.env.GOCACHE ?? join(tmpdir(), "tessera-examples-go-cache"),
          GOPATH: process.env.GOPATH ?? join(tmpdir(), "tessera-examples-gopath"),
        },
      });
      await expectPrintedToken(stdout);
    },
    180_000,
  );
});
