import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { closedPort, type StubTokenServer, startStubTokenServer } from "../../helpers/stub-token-server.js";
import { type RunResult, runTessera } from "../../helpers/tessera-process.js";
import { startTestServer, type TestServer } from "../../helpers/test-server.js";

// `ADMIN=$(tessera token ...)` must never yield an empty token with a successful exit: every
// failure is one line on stderr, nothing on stdout, and a non-zero exit code. The command
// runs as a real process (bin/tessera on dist/) against real servers.

vi.setConfig({ testTimeout: 30_000 });

let tessera: TestServer;
let creds: { clientId: string; clientSecret: string };

beforeAll(async () => {
  tessera = await startTestServer();
  creds = await tessera.createClient({ scopes: ["read"] });
});
afterAll(async () => {
  await tessera?.stop();
});

/** `tessera token --server URL` as a child process (never spawnSync: the stub servers live in this process). */
function token(server: string, env: Record<string, string> = {}): Promise<RunResult> {
  return runTessera(["token", "--server", server], { env: { CLIENT_ID: creds.clientId, CLIENT_SECRET: creds.clientSecret, ...env } });
}

/** Exit 1, nothing on stdout, exactly one line on stderr that says `what`. */
function expectOneSentenceFailure(r: RunResult, what: RegExp): void {
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 1, stdout: "" });
  expect(r.stderr).toMatch(/^tessera: [^\n]+\n$/);
  expect(r.stderr).toMatch(what);
  expect(r.stderr).not.toContain(creds.clientSecret);
}

describe("tessera token fails loudly", () => {
  let stub: StubTokenServer | undefined;
  afterAll(async () => {
    await stub?.close();
  });

  it("prints the token and exits 0 when the server answers", async () => {
    const r = await token(tessera.url);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);
  });

  it("server down (nothing listens on the port)", async () => {
    const r = await token(`http://127.0.0.1:${await closedPort()}`);
    // The address tried, why, and how to point the CLI elsewhere.
    expectOneSentenceFailure(
      r,
      /Cannot reach a Tessera server at http:\/\/127\.0\.0\.1:\d+ \(connection refused\)\..*--server URL or TESSERA_SERVER/,
    );
  });

  it("wrong port (another HTTP service answers)", async () => {
    const other = http.createServer((_req, res) => res.writeHead(404, { "content-type": "text/html" }).end("<h1>Not Found</h1>"));
    await new Promise<void>((r) => other.listen(0, "127.0.0.1", r));
    try {
      const r = await token(`http://127.0.0.1:${(other.address() as AddressInfo).port}`);
      expectOneSentenceFailure(r, /invalid_response: .*not a token response: HTTP 404/);
    } finally {
      other.close();
    }
  });

  it("429 with Retry-After on every attempt", async () => {
    stub = await startStubTokenServer([{ status: 429, retryAfter: 1 }]);
    const r = await token(stub.url);
    expectOneSentenceFailure(r, /temporarily_unavailable: The token service at .* is unavailable or overloaded \(slow down\)/);
    expect(stub.count).toBeGreaterThan(1); // it did wait and retry before giving up
  });

  it("invalid_client (wrong secret), against the real server", async () => {
    const r = await token(tessera.url, { CLIENT_SECRET: "tsec_wrong" });
    expectOneSentenceFailure(r, /invalid_client: Invalid client credentials\. Check CLIENT_ID and CLIENT_SECRET\./);
  });

  it("timeout (the server accepts the request and never answers)", async () => {
    const hanging = await startStubTokenServer(["hang"]);
    try {
      const r = await token(hanging.url);
      expectOneSentenceFailure(r, /timeout: The token service at .* did not answer within \d+ ms/);
    } finally {
      await hanging.close();
    }
  });

  it("a server without a scheme is a usage error (exit 2) naming the flag and variable, not a network retry", async () => {
    const r = await token("localhost:8080");
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
    expect(r.stderr).toBe(
      'tessera: The server (--server or TESSERA_SERVER) must be an http:// or https:// URL such as http://localhost:8080, not "localhost:8080"; did you mean "http://localhost:8080"?\n',
    );
  });

  it("a server URL with a query or fragment is a usage error naming the flag and variable, from either", async () => {
    for (const server of [`${tessera.url}/?tenant=a`, `${tessera.url}#token`]) {
      const expected = `tessera: The server (--server or TESSERA_SERVER) must be Tessera's base URL without a query or fragment, such as https://auth.example.com, not ${JSON.stringify(server)}.\n`;
      const fromFlag = await token(server);
      const fromVariable = await runTessera(["token"], {
        env: { CLIENT_ID: creds.clientId, CLIENT_SECRET: creds.clientSecret, TESSERA_SERVER: server },
      });
      for (const r of [fromFlag, fromVariable])
        expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 2, stdout: "", stderr: expected });
    }
  });

  it("https:// for a server without TLS: one line naming the address, why, and --server or TESSERA_SERVER", async () => {
    const server = tessera.url.replace(/^http:/, "https:");
    const fromFlag = await token(server);
    const fromVariable = await runTessera(["token"], {
      env: { CLIENT_ID: creds.clientId, CLIENT_SECRET: creds.clientSecret, TESSERA_SERVER: server },
    });
    for (const r of [fromFlag, fromVariable]) {
      expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
        code: 1,
        stdout: "",
        stderr: `tessera: Cannot reach a Tessera server at ${server} (it does not answer TLS; a server without TLS has an http:// URL). Start one with \`tessera serve\`, or point the CLI at yours with --server URL or TESSERA_SERVER.\n`,
      });
    }
  });
});
