import { rmSync } from "node:fs";
import { join } from "node:path";
import type * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminToken, bearer, type CallFailure, opsClient, structToJson, timestampMs, unary } from "../../helpers/ops-grpc.js";
import { bootstrap, type Credentials, runTessera, startTessera, type TesseraProcess, tempDir } from "../../helpers/tessera-process.js";

// Every ClientAdmin change and a key rotation, read back through ListAuditEvents (paged,
// filtered) and `tessera audit --json`.

interface RawEvent {
  event_id: string;
  time: { seconds: string; nanos: number };
  actor: string;
  action: string;
  target: string;
  changes: { fields: Record<string, never> };
  origin: string;
}
interface Event {
  event_id: string;
  time: number;
  actor: string;
  action: string;
  target: string;
  changes: Record<string, unknown>;
  origin: string;
}

let dir: string;
let server: TesseraProcess;
let admin: Credentials;
let tokens: grpc.Client;
let clients: grpc.Client;
let md: Record<string, string>;
let startedAt: number;
let finishedAt: number;
const secrets: string[] = [];
let newSecretId: string;
let newKid: string;
/** The current and next key before the forced rotation, which withdraws them. */
let oldKids: string[];

async function page(pageSize: number, pageToken = "", target = ""): Promise<{ events: Event[]; next: string }> {
  const r = await unary<{ events: RawEvent[]; next_page_token: string }>(
    clients,
    "ListAuditEvents",
    { page_size: pageSize, page_token: pageToken, target },
    md,
  );
  return {
    events: r.events.map((e) => ({ ...e, time: timestampMs(e.time)!, changes: structToJson(e.changes) })),
    next: r.next_page_token,
  };
}

async function all(pageSize: number, target = ""): Promise<{ events: Event[]; pages: number }> {
  const events: Event[] = [];
  let token = "";
  let pages = 0;
  do {
    const p = await page(pageSize, token, target);
    expect(p.events.length).toBeLessThanOrEqual(pageSize);
    events.push(...p.events);
    token = p.next;
    pages++;
  } while (token !== "" && pages < 50);
  return { events, pages };
}

beforeAll(async () => {
  dir = tempDir("audit");
  const db = join(dir, "tessera.db");
  startedAt = Date.now() - 1000;
  admin = await bootstrap(db);
  secrets.push(admin.clientSecret);
  server = await startTessera({ db });
  tokens = opsClient("TokenService", `127.0.0.1:${server.port}`);
  clients = opsClient("ClientAdmin", `127.0.0.1:${server.port}`);
  const keys = opsClient("KeyAdmin", `127.0.0.1:${server.port}`);
  md = bearer(await adminToken(tokens, admin));

  const a = await unary<{ client_secret: string }>(
    clients,
    "CreateClient",
    { client_id: "audit-a", name: "A", scopes: ["read", "write"], audiences: ["https://api.example"], token_ttl: { seconds: "600" } },
    md,
  );
  const b = await unary<{ client_secret: string }>(clients, "CreateClient", { client_id: "audit-b", name: "B", scopes: ["read"] }, md);
  secrets.push(a.client_secret, b.client_secret);
  await unary(
    clients,
    "UpdateClient",
    { client: { client_id: "audit-a", name: "A2", disabled: true }, update_mask: { paths: ["name", "disabled"] } },
    md,
  );
  const rotated = await unary<{ client_secret: string; client: { secrets: { secret_id: string; create_time: unknown }[] } }>(
    clients,
    "RotateClientSecret",
    { client_id: "audit-a", grace_period: { seconds: "60" } },
    md,
  );
  secrets.push(rotated.client_secret);
  newSecretId = rotated.client.secrets[0]!.secret_id;
  await unary(clients, "RevokeClientTokens", { client_id: "audit-a" }, md);
  await unary(clients, "DeleteClient", { client_id: "audit-b" }, md);
  oldKids = (await unary<{ keys: { kid: string }[] }>(keys, "ListSigningKeys", {}, md)).keys.map((k) => k.kid);
  const rot = await unary<{ current: { kid: string } }>(keys, "RotateSigningKey", { force: true }, md);
  newKid = rot.current.kid;
  // A forced rotation withdraws the keys that signed the admin token: get one of the new key.
  md = bearer(await adminToken(tokens, admin));
  keys.close();
  finishedAt = Date.now() + 1000;
});

afterAll(async () => {
  tokens?.close();
  clients?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("ClientAdmin.ListAuditEvents", () => {
  it("lists every change newest first, page by page, with actor, action, target, changes, time and origin", async () => {
    const { events, pages } = await all(3);
    expect(pages).toBe(3);
    expect(events.map((e) => [e.action, e.target])).toEqual([
      ["keys.rotate", newKid],
      ["client.delete", "audit-b"],
      ["client.revoke_tokens", "audit-a"],
      ["client.rotate_secret", "audit-a"],
      ["client.update", "audit-a"],
      ["client.create", "audit-b"],
      ["client.create", "audit-a"],
      ["client.create", admin.clientId],
    ]);
    const ids = events.map((e) => Number(e.event_id));
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeLessThan(ids[i - 1]!);
    const times = events.map((e) => e.time);
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeLessThanOrEqual(times[i - 1]!);
    for (const e of events) {
      expect(e.time).toBeGreaterThanOrEqual(startedAt);
      expect(e.time).toBeLessThanOrEqual(finishedAt);
    }

    const made = events.slice(0, 7);
    for (const e of made) {
      expect(e.actor).toBe(admin.clientId);
      expect(e.origin).toBe("127.0.0.1");
    }
    const boot = events[7]!;
    expect(boot.actor).toBe("bootstrap");
    expect(boot.origin).toBe("local");
    expect(boot.changes).toMatchObject({ scopes: ["tessera:admin"] });

    const [rotateKey, del, revoke, rotate, update, createB, createA] = made as [Event, Event, Event, Event, Event, Event, Event];
    expect(createA.changes).toEqual({
      name: "A",
      scopes: ["read", "write"],
      audiences: ["https://api.example"],
      token_ttl_seconds: 600,
      auth_method: "client_secret",
    });
    expect(createB.changes).toEqual({ name: "B", scopes: ["read"], audiences: [], token_ttl_seconds: 3600, auth_method: "client_secret" });
    expect(update.changes).toMatchObject({ name: "A2", disabled: true });
    expect(update.changes.tokens_not_before).toMatch(/^\d{4}-\d\d-\d\dT/); // disabling cuts off issued tokens too (ISO time, as revoke_tokens)
    expect(rotate.changes).toEqual({ new_secret_id: newSecretId, grace_period_seconds: 60 });
    expect(Date.parse(revoke.changes.tokens_not_before as string)).toBeGreaterThan(startedAt);
    expect(del.changes).toEqual({});
    expect(rotateKey.changes).toEqual({ force: true, withdrawn: expect.arrayContaining(oldKids) });
    expect((rotateKey.changes.withdrawn as string[]).sort()).toEqual([...oldKids].sort());
  });

  it("never records a secret", async () => {
    const text = JSON.stringify((await all(100)).events);
    for (const s of secrets) expect(text).not.toContain(s);
    expect(text).not.toMatch(/tsec_/);
  });

  it("filters by target, still newest first and paged", async () => {
    const { events, pages } = await all(2, "audit-a");
    expect(pages).toBe(2);
    expect(events.map((e) => e.action)).toEqual(["client.revoke_tokens", "client.rotate_secret", "client.update", "client.create"]);
    expect(new Set(events.map((e) => e.target))).toEqual(new Set(["audit-a"]));
    expect((await all(10, newKid)).events.map((e) => e.action)).toEqual(["keys.rotate"]);
    expect((await all(10, "nobody")).events).toEqual([]);
  });

  it("refuses a page token it did not issue and a page size out of range", async () => {
    await expect(page(2, "garbage!")).rejects.toMatchObject({ code: 3 });
    await expect(page(5000)).rejects.toMatchObject({ code: 3 });
  });

  it("needs an admin token", async () => {
    const r = await unary(clients, "ListAuditEvents", {}).catch((e: CallFailure) => e);
    expect((r as CallFailure).code).toBe(16);
  });
});

describe("tessera audit --json", () => {
  it("shows the same events as ListAuditEvents", async () => {
    const env = { TESSERA_CLIENT_ID: admin.clientId, TESSERA_CLIENT_SECRET: admin.clientSecret };
    const r = await runTessera(["audit", "--json", "--server", server.url], { env });
    expect(r.code, r.stderr).toBe(0);
    const cli = JSON.parse(r.stdout) as {
      events: {
        event_id: string;
        time: string;
        actor: string;
        action: string;
        target: string;
        changes?: Record<string, unknown>;
        origin: string;
      }[];
      next_page_token: string;
    };
    const rpc = (await all(100)).events;
    expect(cli.next_page_token).toBe("");
    expect(
      cli.events.map((e) => ({
        event_id: e.event_id,
        time: Date.parse(e.time),
        actor: e.actor,
        action: e.action,
        target: e.target,
        changes: e.changes ?? {},
        origin: e.origin,
      })),
    ).toEqual(rpc);

    const filtered = await runTessera(["audit", "--json", "--server", server.url, "--target", "audit-b", "--page-size", "1"], { env });
    expect(filtered.code, filtered.stderr).toBe(0);
    const f = JSON.parse(filtered.stdout) as { events: { action: string }[]; next_page_token: string };
    expect(f.events.map((e) => e.action)).toEqual(["client.delete"]);
    expect(f.next_page_token).not.toBe("");
    const older = await runTessera(
      ["audit", "--json", "--server", server.url, "--target", "audit-b", "--page-size", "1", "--page-token", f.next_page_token],
      { env },
    );
    expect((JSON.parse(older.stdout) as { events: { action: string }[] }).events.map((e) => e.action)).toEqual(["client.create"]);
    for (const s of secrets) expect(r.stdout + filtered.stdout + older.stdout).not.toContain(s);
  });
});
