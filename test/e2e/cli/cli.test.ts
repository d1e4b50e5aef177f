import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyWithJwks } from "../../helpers/jwks.js";

// The real `tessera` command, as a user runs it (compiled by `npm test` / `npm ci` first).
const BIN = fileURLToPath(new URL("../../../bin/tessera", import.meta.url));
const DIST = fileURLToPath(new URL("../../../dist/src/cli/main.js", import.meta.url));

let dir: string;
let db: string;
let serve: ChildProcess;
let url: string;
const issuer = "http://tessera.cli.test";

function tessera(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    encoding: "utf8",
    timeout: 20_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function json<T = Record<string, unknown>>(r: { code: number | null; stdout: string; stderr: string }): T {
  expect(r.stderr, r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as T;
}

beforeAll(async () => {
  if (!existsSync(DIST)) throw new Error("dist/ is missing: run `npm run build` (npm test does it) before the CLI tests");
  dir = mkdtempSync(join(tmpdir(), "tessera-cli-"));
  db = join(dir, "nested", "tessera.db");
  serve = spawn(process.execPath, [BIN, "serve", "--port", "0", "--host", "127.0.0.1", "--db", db, "--issuer", issuer], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("server did not start")), 15_000);
    serve.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
    createInterface({ input: serve.stdout! }).on("line", (line) => {
      const rec = JSON.parse(line) as { msg?: string; port?: number };
      if (rec.msg === "tessera listening") {
        clearTimeout(timer);
        resolve(rec.port!);
      }
    });
  });
  url = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  if (serve && serve.exitCode === null) {
    const exited = new Promise((r) => serve.once("exit", r));
    serve.kill("SIGTERM");
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("tessera CLI against a running `tessera serve`", () => {
  let admin: { client_id: string; client_secret: string };

  it("serve created its database file and folder", () => {
    expect(existsSync(db)).toBe(true);
  });

  it("bootstrap works while the server runs on the same file, prints JSON once, refuses a second run", () => {
    const boot = tessera(["bootstrap", "--db", db]);
    expect(boot.code, boot.stderr).toBe(0);
    // stdout is the one JSON line scripts parse; the person reads which file changed on stderr.
    expect(boot.stderr).toContain(`in the database ${db};`);
    admin = JSON.parse(boot.stdout) as typeof admin;
    expect(admin.client_id).toMatch(/^tcl_/);
    expect(admin.client_secret).toMatch(/^tsec_/);
    const again = tessera(["bootstrap", "--db", db]);
    expect(again.code).not.toBe(0);
    expect(again.stdout).toBe("");
    expect(again.stderr).toMatch(/already bootstrapped.*--force/);
    expect(again.stderr).not.toContain(admin.client_secret);
  });

  it("clients create/get/list/update/rotate-secret/delete over gRPC as the admin", async () => {
    const env = { TESSERA_CLIENT_ID: admin.client_id, TESSERA_CLIENT_SECRET: admin.client_secret };
    const created = json<{ client_id: string; client_secret: string; client: { name: string; scopes: string[] } }>(
      tessera(["clients", "create", "--server", url, "--name", "billing", "--scope", "read write", "--json"], env),
    );
    expect(created.client.name).toBe("billing");
    expect(created.client.scopes).toEqual(["read", "write"]);

    const got = json<{ client_id: string }>(tessera(["clients", "get", created.client_id, "--server", url, "--json"], env));
    expect(got.client_id).toBe(created.client_id);

    const list = json<{ clients: { client_id: string }[] }>(tessera(["clients", "list", "--server", url, "--json"], env));
    expect(list.clients.map((c) => c.client_id)).toEqual(expect.arrayContaining([admin.client_id, created.client_id]));

    const readable = tessera(["clients", "get", created.client_id, "--server", url], env);
    expect(readable.code).toBe(0);
    expect(readable.stdout).toContain("name:       billing");

    // `tessera token`: CLIENT_ID / CLIENT_SECRET in, token out.
    const tok = tessera(["token", "--server", url, "--scope", "read"], { CLIENT_ID: created.client_id, CLIENT_SECRET: created.client_secret });
    expect(tok.code).toBe(0);
    const { payload } = await verifyWithJwks(url, tok.stdout.trim(), issuer);
    expect(payload.scope).toBe("read");
    expect(payload.sub).toBe(created.client_id);

    const updated = json<{ scopes: string[]; disabled?: boolean }>(
      tessera(["clients", "update", created.client_id, "--scope", "read", "--disable", "--server", url, "--json"], env),
    );
    expect(updated.scopes).toEqual(["read"]);
    expect(updated.disabled).toBe(true);
    const refused = tessera(["token", "--server", url], { CLIENT_ID: created.client_id, CLIENT_SECRET: created.client_secret });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("invalid_client");
    expect(refused.stderr).not.toContain(created.client_secret);

    const rotated = json<{ client_secret: string }>(
      tessera(["clients", "rotate-secret", created.client_id, "--grace", "0", "--server", url, "--json"], env),
    );
    expect(rotated.client_secret).not.toBe(created.client_secret);

    expect(tessera(["clients", "delete", created.client_id, "--yes", "--server", url], env).code).toBe(0);
    const gone = tessera(["clients", "get", created.client_id, "--server", url], env);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain("not_found");
  }, 90_000); // eleven real processes one after another: on a loaded machine each takes seconds

  it("clients without admin credentials or with a non-admin client are refused clearly", () => {
    const none = tessera(["clients", "list", "--server", url]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("TESSERA_CLIENT_ID");
  });

  it("a bad serve flag or env value is one clear sentence and exit code 2", () => {
    for (const [args, env, needle] of [
      [["serve", "--port", "99999"], {}, "--port must be a port number"],
      [["serve", "--alg", "HS256"], {}, "--alg must be one of ES256, EdDSA, RS256, PS256"],
      [["serve"], { PORT: "eighty" }, "PORT must be a port number"],
      [["serve", "--issuer", "not a url"], {}, "--issuer must be an absolute URL"],
      [["serve", "--nope"], {}, "tessera serve: unknown option '--nope'"],
    ] as const) {
      const r = tessera([...args], { ...env, TESSERA_DB: join(dir, "unused.db") });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(needle);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  });

  it("serve stops cleanly with exit code 0 on SIGTERM", async () => {
    const exited = new Promise<number | null>((r) => serve.once("exit", (code) => r(code)));
    serve.kill("SIGTERM");
    expect(await exited).toBe(0);
  });
});
