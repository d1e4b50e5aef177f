import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrap, type Credentials, runTessera, startTessera, type TesseraProcess, tempDir } from "../../helpers/tessera-process.js";

// Where the CLI looks for the server, and what it says when that is wrong: the same port
// variables as `tessera serve`, TESSERA_SERVER over them, --server over everything.

let dir: string;
let server: TesseraProcess;
let admin: Credentials;
let adminEnv: Record<string, string>;

beforeAll(async () => {
  dir = tempDir("cli-server-address");
  const db = join(dir, "tessera.db");
  server = await startTessera({ db });
  admin = await bootstrap(db);
  adminEnv = { TESSERA_CLIENT_ID: admin.clientId, TESSERA_CLIENT_SECRET: admin.clientSecret };
});

afterAll(async () => {
  await server?.stop();
});

const listed = (r: { code: number | null; stdout: string; stderr: string }) => {
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
};

describe("the CLI finds the server the way `tessera serve` picks its port", () => {
  it("PORT alone, as `PORT=N npm start` sets it for the server", async () => {
    expect(listed(await runTessera(["clients", "list"], { env: { ...adminEnv, PORT: String(server.port) } }))).toContain(admin.clientId);
  });

  it("TESSERA_PORT wins over PORT, as it does for the server", async () => {
    const env = { ...adminEnv, TESSERA_PORT: String(server.port), PORT: "1" };
    expect(listed(await runTessera(["keys", "list"], { env }))).toContain("current");
  });

  it("TESSERA_SERVER wins over the port variables, and --server over TESSERA_SERVER", async () => {
    expect(listed(await runTessera(["audit"], { env: { ...adminEnv, TESSERA_SERVER: server.url, PORT: "1" } }))).toContain("client.create");
    const r = await runTessera(["clients", "list", "--server", server.url], { env: { ...adminEnv, TESSERA_SERVER: "http://127.0.0.1:1" } });
    expect(listed(r)).toContain(admin.clientId);
  });
});

describe("when nothing answers", () => {
  it("names the address it tried and how to point the CLI elsewhere, exit 1", async () => {
    for (const [args, env, address] of [
      [["clients", "list"], { PORT: "1" }, "http://localhost:1"],
      [["keys", "list"], { TESSERA_SERVER: "http://127.0.0.1:1" }, "http://127.0.0.1:1"],
      [["audit", "--server", "http://127.0.0.1:1"], {}, "http://127.0.0.1:1"],
    ] as const) {
      const r = await runTessera([...args], { env: { ...adminEnv, ...env } });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toBe(
        `tessera: Cannot reach a Tessera server at ${address} (connection refused). Start one with \`tessera serve\`, or point the CLI at yours with --server URL or TESSERA_SERVER.\n`,
      );
    }
  });

  it("the same once the server it was using is gone", async () => {
    const db = join(dir, "gone.db");
    const gone = await startTessera({ db });
    const creds = await bootstrap(db);
    const env = { TESSERA_CLIENT_ID: creds.clientId, TESSERA_CLIENT_SECRET: creds.clientSecret, TESSERA_SERVER: gone.url };
    expect((await runTessera(["clients", "list"], { env })).code).toBe(0);
    await gone.stop();
    const r = await runTessera(["clients", "list"], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Cannot reach a Tessera server at ${gone.url}`);
  });

  it("https:// for a server without TLS: names the address, why, and --server or TESSERA_SERVER, in one line", async () => {
    const plain = server.url.replace(/^http:/, "https:");
    for (const [args, env] of [
      [["clients", "list", "--server", plain], {}],
      [["keys", "list"], { TESSERA_SERVER: plain }],
    ] as const) {
      const r = await runTessera([...args], { env: { ...adminEnv, ...env } });
      expect([r.code, r.stderr]).toEqual([
        1,
        `tessera: Cannot reach a Tessera server at ${plain} (it does not answer TLS; a server without TLS has an http:// URL). Start one with \`tessera serve\`, or point the CLI at yours with --server URL or TESSERA_SERVER.\n`,
      ]);
    }
  });

  it("a server that is not a base URL is a usage error naming --server and TESSERA_SERVER, wherever it came from", async () => {
    const noScheme =
      'tessera: The server (--server or TESSERA_SERVER) must be an http:// or https:// URL such as http://localhost:8080, not "localhost:8080"; did you mean "http://localhost:8080"?\n';
    const query = `tessera: The server (--server or TESSERA_SERVER) must be Tessera's base URL without a query or fragment, such as https://auth.example.com, not "${server.url}/?x=1".\n`;
    for (const [args, env, expected] of [
      [["clients", "list", "--server", "localhost:8080"], {}, noScheme],
      [["keys", "list"], { TESSERA_SERVER: "localhost:8080" }, noScheme],
      [["audit", "--server", `${server.url}/?x=1`], {}, query],
    ] as const) {
      const r = await runTessera([...args], { env: { ...adminEnv, ...env } });
      expect([r.code, r.stderr]).toEqual([2, expected]);
    }
  });
});

describe("admin credentials", () => {
  it("missing: names both variables, exit 2", async () => {
    const r = await runTessera(["clients", "list", "--server", server.url]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Set TESSERA_CLIENT_ID and TESSERA_CLIENT_SECRET");
  });

  it("wrong: names both variables, never echoes the secret, exit 1", async () => {
    const wrong = "tsec_not-the-right-one";
    const r = await runTessera(["clients", "list", "--server", server.url], {
      env: { TESSERA_CLIENT_ID: admin.clientId, TESSERA_CLIENT_SECRET: wrong },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("refused the admin credentials in TESSERA_CLIENT_ID / TESSERA_CLIENT_SECRET");
    expect(r.stderr).not.toContain(wrong);
  });

  it("a client without tessera:admin: 'this client lacks the tessera:admin scope', not an invalid_argument", async () => {
    const made = await runTessera(["clients", "create", "--server", server.url, "--name", "plain", "--scope", "read", "--json"], {
      env: adminEnv,
    });
    const plain = JSON.parse(made.stdout) as { client_id: string; client_secret: string };
    const r = await runTessera(["clients", "list", "--server", server.url], {
      env: { TESSERA_CLIENT_ID: plain.client_id, TESSERA_CLIENT_SECRET: plain.client_secret },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`TESSERA_CLIENT_ID names ${plain.client_id}, and this client lacks the tessera:admin scope`);
    expect(r.stderr).not.toMatch(/invalid_argument|invalid_scope/);
    expect(r.stderr).not.toContain(plain.client_secret);
  });
});
