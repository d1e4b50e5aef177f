import { execFileSync, spawnSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, rmSync, statSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import type * as grpc from "@grpc/grpc-js";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getText, postForm } from "../../helpers/http.js";
import { adminToken, bearer, type CallFailure, healthStatus, opsClient, unary, watchHealth } from "../../helpers/ops-grpc.js";
import { find, parseExposition } from "../../helpers/ops-prometheus.js";
import { bootstrap, type Credentials, runTessera, startTessera, type TesseraProcess, tempDir } from "../../helpers/tessera-process.js";
import { basic } from "../../helpers/test-server.js";

// The database lives on a small tmpfs that the test fills up. Where tmpfs cannot be mounted,
// the server's own file-size limit (RLIMIT_FSIZE, soft) is lowered to the WAL's current size
// instead: every write that would grow a file then fails inside the server's connection, as on
// a full disk (SQLite reports SQLITE_IOERR_WRITE rather than SQLITE_FULL). PRAGMA max_page_count
// would not do: it binds only the connection that sets it, never the server's.

/** A medium that can be made full and freed again. */
interface Medium {
  kind: "tmpfs" | "rlimit";
  dir: string;
  fill(server: TesseraProcess): void;
  free(server: TesseraProcess): void;
  cleanup(): void;
}

const FORCE_SIMULATION = process.env.TESSERA_OPS_SIMULATE_FULL_DISK === "1";

/** Whether this machine lets us mount a tmpfs (root, not in a locked-down container): a mount and unmount of a probe. */
function canMountTmpfs(): boolean {
  const probe = tempDir("probe");
  try {
    if (spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tessera-ops-probe", probe]).status !== 0) return false;
    spawnSync("umount", [probe]);
    return true;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}
const REAL_DISK = !FORCE_SIMULATION && canMountTmpfs();

function tmpfsMedium(base: string): Medium | string {
  const dir = join(base, "mnt");
  mkdirSync(dir);
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", "size=6m,mode=0700", "tessera-ops-full", dir], { encoding: "utf8" });
  if (r.status !== 0) return `mount -t tmpfs failed: ${(r.stderr || r.error?.message || "").trim()}`;
  const filler = join(dir, "filler");
  return {
    kind: "tmpfs",
    dir,
    fill() {
      const fd = openSync(filler, "w");
      try {
        // Large writes, then smaller ones, until not one more byte fits.
        for (const size of [1 << 20, 4096, 1]) {
          const chunk = Buffer.alloc(size, 0x5a);
          for (let i = 0; i < 10_000; i++) {
            try {
              writeSync(fd, chunk);
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
              break;
            }
          }
        }
      } finally {
        closeSync(fd);
      }
    },
    free() {
      unlinkSync(filler);
    },
    cleanup() {
      const u = spawnSync("umount", [dir]);
      if (u.status !== 0) spawnSync("umount", ["-l", dir]);
    },
  };
}

function rlimitMedium(base: string): Medium {
  const dir = join(base, "db");
  mkdirSync(dir);
  return {
    kind: "rlimit",
    dir,
    fill(server) {
      const wal = statSync(join(dir, "tessera.db-wal")).size;
      execFileSync("prlimit", ["--pid", String(server.child.pid), `--fsize=${wal}:`]);
    },
    free(server) {
      execFileSync("prlimit", ["--pid", String(server.child.pid), "--fsize=unlimited:"]);
    },
    cleanup() {},
  };
}

let base: string;
let medium: Medium;
let server: TesseraProcess;
let admin: Credentials;
let victim: Credentials;
let victimToken: string;
let tokens: grpc.Client;
let clients: grpc.Client;
let keys: grpc.Client;
let health: grpc.Client;
let md: Record<string, string>;

const form = (creds: Credentials, body: Record<string, string>) =>
  postForm(
    `${server.url}/oauth/token`,
    { grant_type: "client_credentials", ...body },
    { authorization: basic(creds.clientId, creds.clientSecret) },
  );

beforeAll(async () => {
  base = tempDir("full");
  const tmpfs = FORCE_SIMULATION
    ? "TESSERA_OPS_SIMULATE_FULL_DISK=1"
    : REAL_DISK
      ? tmpfsMedium(base)
      : "mount -t tmpfs is not permitted here";
  if (typeof tmpfs === "string") {
    console.log(`SKIPPED real full disk (tmpfs): ${tmpfs}; simulating it with the server's RLIMIT_FSIZE instead`);
    medium = rlimitMedium(base);
  } else {
    medium = tmpfs;
  }
  const db = join(medium.dir, "tessera.db");
  admin = await bootstrap(db);
  server = await startTessera({ db, args: ["--issuer", "http://tessera.full.test"] });
  const target = `127.0.0.1:${server.port}`;
  tokens = opsClient("TokenService", target);
  clients = opsClient("ClientAdmin", target);
  keys = opsClient("KeyAdmin", target);
  health = opsClient("Health", target);
  md = bearer(await adminToken(tokens, admin));
  const made = await unary<{ client: { client_id: string }; client_secret: string }>(
    clients,
    "CreateClient",
    { client_id: "victim", name: "victim", scopes: ["read", "tessera:introspect"] },
    md,
  );
  victim = { clientId: made.client.client_id, clientSecret: made.client_secret };
  victimToken = (await form(victim, { scope: "read" })).body.access_token as string;
  expect(victimToken).toMatch(/^ey/);
});

afterAll(async () => {
  for (const c of [tokens, clients, keys, health]) c?.close();
  await server?.stop();
  medium?.cleanup();
  rmSync(base, { recursive: true, force: true });
});

describe("the disk holding the database is full", () => {
  it("admin writes fail with UNAVAILABLE and a message saying why", async () => {
    medium.fill(server);
    const fail = (p: Promise<unknown>) =>
      p.then(
        () => expect.fail("the write succeeded on a full disk"),
        (e: CallFailure) => e,
      );
    const created = await fail(unary(clients, "CreateClient", { client_id: "too-late", name: "too late", scopes: ["read"] }, md));
    expect(created.code).toBe(14); // UNAVAILABLE
    expect(created.details).toMatch(/database cannot be written/);
    expect(created.details).toMatch(/disk full/);
    expect(created.details).toMatch(/retry later/);
    const rotated = await fail(unary(clients, "RotateClientSecret", { client_id: "victim" }, md));
    expect(rotated.code).toBe(14);
    const key = await fail(unary(keys, "RotateSigningKey", { force: true }, md));
    expect(key.code).toBe(14);
    // Reads still work, and nothing of the failed writes is visible.
    await expect(unary(clients, "GetClient", { client_id: "too-late" }, md)).rejects.toMatchObject({ code: 5 });
    const v = await unary<{ client: { secrets: unknown[] } }>(clients, "GetClient", { client_id: "victim" }, md);
    expect(v.client.secrets).toHaveLength(1);
    await server.waitForLog((l) => l.level === 50 && /database cannot be written/.test(String(l.msg)));
  });

  it("revocation over HTTP answers 503 with Retry-After, and the token stays what it was", async () => {
    const r = await postForm(
      `${server.url}/oauth/revoke`,
      { token: victimToken },
      { authorization: basic(victim.clientId, victim.clientSecret) },
    );
    expect(r.status).toBe(503);
    expect(r.body.error).toBe("temporarily_unavailable");
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(r.headers.get("cache-control")).toBe("no-store");
    const g = await unary(tokens, "RevokeToken", {
      client_id: victim.clientId,
      client_secret: victim.clientSecret,
      token: victimToken,
    }).catch((e: CallFailure) => e);
    expect((g as CallFailure).code).toBe(14);
    const i = await postForm(
      `${server.url}/oauth/introspect`,
      { token: victimToken },
      { authorization: basic(victim.clientId, victim.clientSecret) },
    );
    expect(i.body.active).toBe(true);
  });

  it("token issuance keeps working over HTTP and gRPC", async () => {
    for (let n = 0; n < 3; n++) {
      const h = await form(victim, { scope: "read" });
      expect(h.status).toBe(200);
      expect(h.body.access_token).toMatch(/^ey/);
      const g = await unary<{ access_token: string }>(tokens, "IssueToken", {
        client_id: victim.clientId,
        client_secret: victim.clientSecret,
        scope: "read",
      });
      expect(g.access_token).toMatch(/^ey/);
    }
    // An admin can still get a token and read.
    const fresh = bearer(await adminToken(tokens, admin));
    const listed = await unary<{ clients: { client_id: string }[] }>(clients, "ListClients", {}, fresh);
    expect(listed.clients.map((c) => c.client_id)).toEqual(expect.arrayContaining([admin.clientId, "victim"]));
  });

  it("health: the admin services are NOT_SERVING, the server and TokenService stay SERVING; metrics count the failures", async () => {
    expect(await healthStatus(health, "tessera.v1.ClientAdmin")).toBe("NOT_SERVING");
    expect(await healthStatus(health, "tessera.v1.KeyAdmin")).toBe("NOT_SERVING");
    expect(await healthStatus(health, "")).toBe("SERVING");
    expect(await healthStatus(health, "tessera.v1.TokenService")).toBe("SERVING");
    const m = parseExposition(await getText(`${server.url}/metrics`));
    const unavailable = find(m, "tessera_storage_errors_total", { kind: "unavailable" });
    expect(unavailable.find((s) => s.labels.operation === "createClient")?.value).toBeGreaterThanOrEqual(1);
    expect(unavailable.find((s) => s.labels.operation === "revokeToken")?.value).toBeGreaterThanOrEqual(2);
  });

  it("once space is freed the service recovers by itself: SERVING within seconds, writes succeed", async () => {
    const watch = watchHealth(health, "tessera.v1.ClientAdmin");
    try {
      await watch.next("NOT_SERVING");
      medium.free(server);
      // The server probes the database again by itself, every 2 s; no request is needed to
      // bring it back. 15 s is room for a loaded machine.
      await watch.next("SERVING", 15_000);
    } finally {
      watch.cancel();
    }
    expect(await healthStatus(health, "tessera.v1.KeyAdmin")).toBe("SERVING");
    expect(await server.waitForLog((l) => l.msg === "the database accepts writes again")).toMatchObject({ level: 30 });
    const made = await unary<{ client: { client_id: string } }>(
      clients,
      "CreateClient",
      { client_id: "after-recovery", name: "after", scopes: ["read"] },
      md,
    );
    expect(made.client.client_id).toBe("after-recovery");
    const r = await postForm(
      `${server.url}/oauth/revoke`,
      { token: victimToken },
      { authorization: basic(victim.clientId, victim.clientSecret) },
    );
    expect(r.status).toBe(200);
    const i = await postForm(
      `${server.url}/oauth/introspect`,
      { token: victimToken },
      { authorization: basic(victim.clientId, victim.clientSecret) },
    );
    expect(i.body).toEqual({ active: false });
    const rotated = await unary<{ current: { kid: string; state: string } }>(keys, "RotateSigningKey", { force: true }, md);
    expect(rotated.current.state).toBe("SIGNING_KEY_STATE_CURRENT");
    const published = JSON.parse(await getText(`${server.url}/.well-known/jwks.json`)) as { keys: { kid: string }[] };
    expect(published.keys.map((k) => k.kid)).toContain(rotated.current.kid);

    const file = new Database(join(medium.dir, "tessera.db"), { readonly: true });
    try {
      expect(file.pragma("integrity_check", { simple: true })).toBe("ok");
      expect(file.prepare("SELECT count(*) AS n FROM clients WHERE client_id = 'too-late'").get()).toEqual({ n: 0 });
    } finally {
      file.close();
    }
  });
});

describe("a server started while the disk is already full", () => {
  (REAL_DISK ? it : it.skip)("refuses with one sentence naming the database and the full disk", async () => {
    expect(await server.stop()).toEqual({ code: 0, signal: null });
    medium.fill(server);
    try {
      const db = join(medium.dir, "tessera.db");
      // Killed after 15 s if it hangs instead of refusing (the signal is then SIGKILL).
      const r = await runTessera(["serve", "--port", "0", "--host", "127.0.0.1", "--db", db], { timeoutMs: 15_000 });
      expect(r.signal).toBeNull();
      expect(r.code).not.toBe(0);
      expect(r.stderr).not.toMatch(/unexpected error/);
      expect(r.stderr).toContain(db);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    } finally {
      medium.free(server);
    }
  });
});
