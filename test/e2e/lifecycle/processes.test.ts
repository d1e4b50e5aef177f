import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../../helpers/eventually.js";
import { bootstrap, runTessera, startTessera, type TesseraProcess, tempDir } from "../../helpers/tessera-process.js";
import { basic } from "../../helpers/test-server.js";

const issuer = "http://tessera.proc.test";
let dir: string;
const started: TesseraProcess[] = [];

beforeAll(() => {
  dir = tempDir("proc");
});
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
});

async function serve(db: string, env: Record<string, string> = {}, args: string[] = []): Promise<TesseraProcess> {
  const s = await startTessera({ db, args: ["--issuer", issuer, ...args], env });
  started.push(s);
  return s;
}

async function post(url: string, path: string, body: Record<string, string>, auth: { clientId: string; clientSecret: string }) {
  const res = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(auth.clientId, auth.clientSecret) },
    body: new URLSearchParams(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function jwks(url: string): Promise<JSONWebKeySet> {
  return (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
}

describe("keys encrypted at rest", () => {
  const kek = randomBytes(32).toString("base64");
  const newKek = randomBytes(32).toString("hex");
  let db: string;

  it("with TESSERA_KEK every private key is stored encrypted (AES-256-GCM)", async () => {
    db = join(dir, "kek.db");
    const s = await serve(db, { TESSERA_KEK: kek });
    expect(s.logs.some((l) => l.msg === "signing keys are encrypted at rest")).toBe(true);
    expect(s.logs.some((l) => String(l.msg).includes("unencrypted"))).toBe(false);
    expect(await s.stop()).toEqual({ code: 0, signal: null });
    const rows = new Database(db, { readonly: true }).prepare("SELECT private_key FROM signing_keys").all() as { private_key: string }[];
    expect(rows.length).toBeGreaterThanOrEqual(2);
    for (const r of rows) {
      const env = JSON.parse(r.private_key) as Record<string, unknown>;
      expect(env.enc).toBe("A256GCM");
      expect(env).not.toHaveProperty("d");
    }
  });

  it("refuses to start without the KEK, or with the wrong one, in one sentence, exit 2", async () => {
    const none = await runTessera(["serve", "--port", "0", "--db", db]);
    expect(none.code).toBe(2);
    expect(none.stderr.trim()).toBe(
      "tessera: The signing keys are encrypted at rest: set TESSERA_KEK or TESSERA_KEK_FILE to the key-encryption key.",
    );
    const wrong = await runTessera(["serve", "--port", "0", "--db", db], { env: { TESSERA_KEK: randomBytes(32).toString("base64") } });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/is not the one the signing keys are encrypted under/);
    expect(wrong.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("tessera keys rewrap moves the keys to a new KEK; the old one is then refused", async () => {
    const r = await runTessera(["keys", "rewrap", "--db", db], { env: { TESSERA_KEK: kek, TESSERA_NEW_KEK: newKek } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Re-encrypted \d+ signing keys/);
    expect((await runTessera(["serve", "--port", "0", "--db", db], { env: { TESSERA_KEK: kek } })).code).toBe(2);
    const s = await serve(db, { TESSERA_KEK: newKek });
    expect((await jwks(s.url)).keys.length).toBeGreaterThanOrEqual(2);
    await s.stop();
  });

  it("without any KEK it runs, and warns at start-up that keys are unencrypted", async () => {
    const s = await serve(join(dir, "plain.db"));
    const warn = s.logs.find((l) => l.level === 40 && String(l.msg).includes("unencrypted"));
    expect(warn?.msg).toMatch(/set TESSERA_KEK or TESSERA_KEK_FILE/);
    await s.stop();
  });
});

describe("two processes on one database file", () => {
  let db: string;
  let a: TesseraProcess;
  let b: TesseraProcess;
  let admin: { clientId: string; clientSecret: string };

  beforeAll(async () => {
    db = join(dir, "shared.db");
    a = await serve(db);
    b = await serve(db);
    admin = await bootstrap(db);
  });

  it("publish the same JWKS", async () => {
    expect(await jwks(a.url)).toEqual(await jwks(b.url));
  });

  it("a client created through one gets tokens from the other at once; revocation through one holds on the other at once, disabling shortly after", async () => {
    const env = { TESSERA_CLIENT_ID: admin.clientId, TESSERA_CLIENT_SECRET: admin.clientSecret };
    const made = await runTessera(
      ["clients", "create", "--server", a.url, "--name", "svc", "--scope", "read tessera:introspect", "--json"],
      { env },
    );
    expect(made.code, made.stderr).toBe(0);
    const c = JSON.parse(made.stdout) as { client_id: string; client_secret: string };
    const creds = { clientId: c.client_id, clientSecret: c.client_secret };

    const t = await post(b.url, "/oauth/token", { grant_type: "client_credentials" }, creds);
    expect(t.status).toBe(200);
    const token = t.body.access_token as string;
    expect((await post(a.url, "/oauth/introspect", { token }, creds)).body.active).toBe(true);
    expect((await post(a.url, "/oauth/revoke", { token }, creds)).status).toBe(200);
    expect((await post(b.url, "/oauth/introspect", { token }, creds)).body).toEqual({ active: false });

    const off = await runTessera(["clients", "update", c.client_id, "--disable", "--server", b.url], { env });
    expect(off.code, off.stderr).toBe(0);
    // A has the client in memory: its background poll of the database sees the change (every
    // 250 ms), not the request itself, so the refusal follows shortly after.
    await eventually(
      "the other process to refuse the disabled client",
      async () => (await post(a.url, "/oauth/token", { grant_type: "client_credentials" }, creds)).status === 401,
    );
  });

  it("a key rotation through one is published and used by the other, which watches the database for changes", async () => {
    const env = { TESSERA_CLIENT_ID: admin.clientId, TESSERA_CLIENT_SECRET: admin.clientSecret };
    const before = await jwks(b.url);
    const r = await runTessera(["keys", "rotate", "--force", "--server", a.url, "--json"], { env });
    expect(r.code, r.stderr).toBe(0);
    // The other process checks the database for changes every 500 ms; without that check it would
    // only notice at its next key maintenance, a minute later. 10 s leaves room for a loaded machine.
    await eventually(
      "the other process to publish the rotated JWKS",
      async () => {
        const [fromA, fromB] = [await jwks(a.url), await jwks(b.url)];
        return JSON.stringify(fromB) === JSON.stringify(fromA) && JSON.stringify(fromB) !== JSON.stringify(before);
      },
      { timeoutMs: 10_000 },
    );
    const t = await post(b.url, "/oauth/token", { grant_type: "client_credentials" }, admin);
    const { protectedHeader } = await jwtVerify(t.body.access_token as string, createLocalJWKSet(await jwks(a.url)), { issuer });
    const current = (JSON.parse(r.stdout) as { keys: { kid: string; state: string }[] }).keys.find(
      (k) => k.state === "SIGNING_KEY_STATE_CURRENT",
    );
    expect(protectedHeader.kid).toBe(current!.kid);
  });
});

describe("changing the signing algorithm", () => {
  it("RS256 -> ES256 across a rotation: tokens issued before still verify", async () => {
    const db = join(dir, "alg.db");
    const rs = await serve(db, {}, ["--alg", "RS256"]);
    const admin = await bootstrap(db);
    const old = (await post(rs.url, "/oauth/token", { grant_type: "client_credentials" }, admin)).body.access_token as string;
    await rs.stop();

    const es = await serve(db, {}, ["--alg", "ES256"]);
    expect(es.logs.some((l) => l.level === 40 && l.configured_alg === "ES256" && l.current_alg === "RS256")).toBe(true);
    const env = { TESSERA_CLIENT_ID: admin.clientId, TESSERA_CLIENT_SECRET: admin.clientSecret };
    // A scheduled-style rotation (not --force, which withdraws the old keys as compromised):
    // as if the new ES256 next key had been published for an hour already.
    const file = new Database(db);
    file.prepare("UPDATE signing_keys SET create_time = create_time - 3600000 WHERE status = 'next'").run();
    file.close();
    const rotated = await runTessera(["keys", "rotate", "--server", es.url], { env });
    expect(rotated.code, rotated.stderr).toBe(0);
    const fresh = (await post(es.url, "/oauth/token", { grant_type: "client_credentials" }, admin)).body.access_token as string;
    const set = createLocalJWKSet(await jwks(es.url));
    expect((await jwtVerify(old, set, { issuer })).protectedHeader.alg).toBe("RS256");
    expect((await jwtVerify(fresh, set, { issuer })).protectedHeader.alg).toBe("ES256");
    const meta = (await (await fetch(`${es.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, string[]>;
    expect(meta.access_token_signing_alg_values_supported!.sort()).toEqual(["ES256", "RS256"]);
  });
});
