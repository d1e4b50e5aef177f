import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyWithJwks } from "../../helpers/jwks.js";
import { type RunResult, runTessera, startTessera, type TesseraProcess, tempDir } from "../../helpers/tessera-process.js";

// The real `tessera` command, as a user runs it (compiled by `npm test` / `npm ci` first).

let dir: string;
let db: string;
let serve: TesseraProcess;
let url: string;
const issuer = "http://tessera.cli.test";

function json<T = Record<string, unknown>>(r: RunResult): T {
  expect(r.stderr, r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as T;
}

beforeAll(async () => {
  dir = tempDir("cli");
  db = join(dir, "nested", "tessera.db");
  serve = await startTessera({ db, args: ["--issuer", issuer] });
  url = serve.url;
});

afterAll(async () => {
  await serve?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("tessera CLI against a running `tessera serve`", () => {
  let admin: { client_id: string; client_secret: string };

  it("serve created its database file and folder", () => {
    expect(existsSync(db)).toBe(true);
  });

  it("bootstrap works while the server runs on the same file, prints JSON once, refuses a second run", async () => {
    const boot = await runTessera(["bootstrap", "--db", db]);
    expect(boot.code, boot.stderr).toBe(0);
    // stdout is the one JSON line scripts parse; the person reads which file changed on stderr.
    expect(boot.stderr).toContain(`in the database ${db};`);
    admin = JSON.parse(boot.stdout) as typeof admin;
    expect(admin.client_id).toMatch(/^tcl_/);
    expect(admin.client_secret).toMatch(/^tsec_/);
    const again = await runTessera(["bootstrap", "--db", db]);
    expect(again.code).not.toBe(0);
    expect(again.stdout).toBe("");
    expect(again.stderr).toMatch(/already bootstrapped.*--force/);
    expect(again.stderr).not.toContain(admin.client_secret);
  });

  // One client through its whole life, one command a test (each a process of its own, seconds
  // long on a loaded machine), in order.
  describe("clients create/get/list/update/rotate-secret/delete over gRPC as the admin", () => {
    const env = () => ({ TESSERA_CLIENT_ID: admin.client_id, TESSERA_CLIENT_SECRET: admin.client_secret });
    let created: { client_id: string; client_secret: string; client: { name: string; scopes: string[] } };

    it("create", async () => {
      created = json(
        await runTessera(["clients", "create", "--server", url, "--name", "billing", "--scope", "read write", "--json"], { env: env() }),
      );
      expect(created.client.name).toBe("billing");
      expect(created.client.scopes).toEqual(["read", "write"]);
    });

    it("get, as JSON and for a person", async () => {
      const got = json<{ client_id: string }>(
        await runTessera(["clients", "get", created.client_id, "--server", url, "--json"], { env: env() }),
      );
      expect(got.client_id).toBe(created.client_id);
      const readable = await runTessera(["clients", "get", created.client_id, "--server", url], { env: env() });
      expect(readable.code).toBe(0);
      expect(readable.stdout).toContain("name:       billing");
    });

    it("list", async () => {
      const list = json<{ clients: { client_id: string }[] }>(
        await runTessera(["clients", "list", "--server", url, "--json"], { env: env() }),
      );
      expect(list.clients.map((c) => c.client_id)).toEqual(expect.arrayContaining([admin.client_id, created.client_id]));
    });

    it("token: CLIENT_ID / CLIENT_SECRET in, a verifiable token out", async () => {
      const tok = await runTessera(["token", "--server", url, "--scope", "read"], {
        env: { CLIENT_ID: created.client_id, CLIENT_SECRET: created.client_secret },
      });
      expect(tok.code).toBe(0);
      const { payload } = await verifyWithJwks(url, tok.stdout.trim(), issuer);
      expect(payload.scope).toBe("read");
      expect(payload.sub).toBe(created.client_id);
    });

    it("update --disable: the client is refused a token", async () => {
      const updated = json<{ scopes: string[]; disabled?: boolean }>(
        await runTessera(["clients", "update", created.client_id, "--scope", "read", "--disable", "--server", url, "--json"], {
          env: env(),
        }),
      );
      expect(updated.scopes).toEqual(["read"]);
      expect(updated.disabled).toBe(true);
      const refused = await runTessera(["token", "--server", url], {
        env: { CLIENT_ID: created.client_id, CLIENT_SECRET: created.client_secret },
      });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("invalid_client");
      expect(refused.stderr).not.toContain(created.client_secret);
    });

    it("rotate-secret", async () => {
      const rotated = json<{ client_secret: string }>(
        await runTessera(["clients", "rotate-secret", created.client_id, "--grace", "0", "--server", url, "--json"], { env: env() }),
      );
      expect(rotated.client_secret).toMatch(/^tsec_/);
      expect(rotated.client_secret).not.toBe(created.client_secret);
    });

    it("delete: the client is gone", async () => {
      expect((await runTessera(["clients", "delete", created.client_id, "--yes", "--server", url], { env: env() })).code).toBe(0);
      const gone = await runTessera(["clients", "get", created.client_id, "--server", url], { env: env() });
      expect(gone.code).toBe(1);
      expect(gone.stderr).toContain("not_found");
    });
  });

  it("clients without admin credentials or with a non-admin client are refused clearly", async () => {
    const none = await runTessera(["clients", "list", "--server", url]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("TESSERA_CLIENT_ID");
  });

  it.each([
    [["serve", "--port", "99999"], {}, "--port must be a port number"],
    [["serve", "--alg", "HS256"], {}, "--alg must be one of ES256, EdDSA, RS256, PS256"],
    [["serve"], { PORT: "eighty" }, "PORT must be a port number"],
    [["serve", "--issuer", "not a url"], {}, "--issuer must be an absolute URL"],
    [["serve", "--nope"], {}, "tessera serve: unknown option '--nope'"],
  ] as const)("a bad serve flag or env value is one clear sentence and exit code 2: %j %j", async (args, env, needle) => {
    const r = await runTessera([...args], { env: { ...env, TESSERA_DB: join(dir, "unused.db") } });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(needle);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("serve stops cleanly with exit code 0 on SIGTERM", async () => {
    expect(await serve.stop("SIGTERM")).toEqual({ code: 0, signal: null });
  });
});
