import { beforeEach, describe, expect, it } from "vitest";
import {
  ClientAdminCore,
  DEFAULT_TOKEN_TTL_SECONDS,
  MAX_GRACE_PERIOD_SECONDS,
  MAX_TOKEN_TTL_SECONDS,
  type NewClientInput,
  tokenCutoff,
} from "../../src/core/client-admin.js";
import { hashClientSecret, hasValidSecretChecksum } from "../../src/core/client-secret.js";
import { AdminError } from "../../src/core/errors.js";
import { MAX_SCOPES } from "../../src/core/scope.js";
import { MemoryStorage } from "../../src/storage/memory/memory-storage.js";
import { rejection } from "./rejection.js";

const START = Date.parse("2030-01-02T03:04:05.678Z");
let now = START;
const clock = () => now;

let storage: MemoryStorage;
let admin: ClientAdminCore;

beforeEach(() => {
  now = START;
  storage = new MemoryStorage();
  admin = new ClientAdminCore(storage, clock);
});

function input(more: Partial<NewClientInput> = {}): NewClientInput {
  return { clientId: "", name: "Billing", scopes: ["read"], audiences: [], tokenTtlSeconds: undefined, ...more };
}

/** A message that starts by naming `field` (as the API calls it, possibly inside `client.`). */
function naming(field: string): RegExp {
  return new RegExp(`^(client\\.)?${field}\\b`);
}

/** Asserts an invalid_argument AdminError whose message starts with the field name. */
async function invalidArgument(p: Promise<unknown>, field: string): Promise<void> {
  const err = await rejection(p, AdminError);
  expect(err.code).toBe("invalid_argument");
  expect(err.message).toMatch(naming(field));
}

describe("ClientAdminCore.create", () => {
  it("generates a tcl_ id and a valid secret whose hash is stored, and stores what it returns", async () => {
    const { client, clientSecret } = await admin.create(input({ scopes: ["read", "write"], audiences: ["https://api"] }));
    expect(client.clientId).toMatch(/^tcl_[0-9A-Za-z]{10,}$/);
    expect(hasValidSecretChecksum(clientSecret)).toBe(true);
    expect(client).toMatchObject({
      name: "Billing",
      scopes: ["read", "write"],
      audiences: ["https://api"],
      tokenTtlSeconds: DEFAULT_TOKEN_TTL_SECONDS,
      disabled: false,
      createTime: START,
      updateTime: START,
      tokensNotBefore: null,
    });
    expect(client.secrets).toHaveLength(1);
    expect(Buffer.from(client.secrets[0]!.hash).equals(hashClientSecret(clientSecret))).toBe(true);
    expect(client.secrets[0]).toMatchObject({ createTime: START, expireTime: null, lastUsedTime: null });

    const stored = await storage.getClient(client.clientId);
    expect({ ...stored!, secrets: stored!.secrets.map((s) => [...s.hash]) }).toEqual({
      ...client,
      secrets: client.secrets.map((s) => [...s.hash]),
    });
  });

  it("generates a different id and secret each time", async () => {
    const a = await admin.create(input());
    const b = await admin.create(input());
    expect(a.client.clientId).not.toBe(b.client.clientId);
    expect(a.clientSecret).not.toBe(b.clientSecret);
  });

  it("default token ttl is 3600 s", async () => {
    expect(DEFAULT_TOKEN_TTL_SECONDS).toBe(3600);
    expect((await admin.create(input())).client.tokenTtlSeconds).toBe(3600);
  });

  it("accepts a custom id of 1-128 characters from A-Z a-z 0-9 . _ ~ -", async () => {
    for (const id of ["a", "Svc-1.prod_x~y", "x".repeat(128)]) {
      expect((await admin.create(input({ clientId: id }))).client.clientId).toBe(id);
    }
  });

  it.each([
    ["with a space", "has space"],
    ["with a slash", "slash/"],
    ["with non-ASCII", "ümlaut"],
    ["of 129 characters", "x".repeat(129)],
    ["with a tab", "tab\t"],
    ["with a colon", "colon:"],
  ])("refuses a custom id %s, naming client_id", async (_what, id) => {
    await invalidArgument(admin.create(input({ clientId: id })), "client_id");
    expect(await storage.listClients("", 10)).toEqual([]);
  });

  it("refuses a duplicate id with already_exists and keeps the first client", async () => {
    const first = await admin.create(input({ clientId: "svc", name: "first" }));
    const err = await rejection(admin.create(input({ clientId: "svc", name: "second" })), AdminError);
    expect(err.code).toBe("already_exists");
    expect(err.message).toMatch(naming("client_id"));
    expect((await storage.getClient("svc"))!.name).toBe("first");
    expect((await storage.getClient("svc"))!.secrets.map((s) => s.secretId)).toEqual(first.client.secrets.map((s) => s.secretId));
  });

  it.each([
    ["empty", ""],
    ["with a leading space", " padded"],
    ["with a trailing space", "padded "],
    ["with a newline", "line\nbreak"],
    ["with a control character", "bell\u0007"],
    ["of 201 characters", "x".repeat(201)],
  ])("refuses a name %s, naming name", async (_what, name) => {
    await invalidArgument(admin.create(input({ name })), "name");
  });

  it("accepts a 200-character name with inner spaces and non-ASCII letters", async () => {
    const name = `Zürich billing ${"x".repeat(200)}`.slice(0, 200);
    expect((await admin.create(input({ name }))).client.name).toBe(name);
  });

  it.each([
    ["with a space", "has space"],
    ["with a double quote", 'quo"te'],
    ["with a backslash", "back\\slash"],
    ["empty", ""],
    ["with non-ASCII", "écrire"],
    ["of 201 characters", "x".repeat(201)],
  ])("refuses a scope %s, naming scopes", async (_what, scope) => {
    await invalidArgument(admin.create(input({ scopes: ["ok", scope] })), "scopes");
  });

  it(`refuses more than ${MAX_SCOPES} scopes, naming scopes`, async () => {
    const scopes = Array.from({ length: MAX_SCOPES + 1 }, (_, i) => `s${i}`);
    await invalidArgument(admin.create(input({ scopes })), "scopes");
    expect((await admin.create(input({ scopes: scopes.slice(0, MAX_SCOPES) }))).client.scopes).toHaveLength(MAX_SCOPES);
  });

  it("drops repeated scopes and audiences, keeping order", async () => {
    const { client } = await admin.create(input({ scopes: ["b", "a", "b"], audiences: ["https://y", "https://x", "https://y"] }));
    expect(client.scopes).toEqual(["b", "a"]);
    expect(client.audiences).toEqual(["https://y", "https://x"]);
  });

  it.each([
    ["empty", ""],
    ["with a space", "has space"],
    ["with a newline", "new\nline"],
    ["of 2001 characters", "x".repeat(2001)],
  ])("refuses an audience %s, naming audiences", async (_what, audience) => {
    await invalidArgument(admin.create(input({ audiences: ["https://ok", audience] })), "audiences");
  });

  // Each of these makes an audience or a scope look like another one in a terminal, a log or
  // the audit trail: "https://api.example" and "https://api.example\u200b" are different values.
  const INVISIBLE: Array<[string, string, string]> = [
    ["a zero-width space", "\u200b", "U+200B"],
    ["a soft hyphen", "\u00ad", "U+00AD"],
    ["a byte order mark", "\ufeff", "U+FEFF"],
    ["a right-to-left override", "\u202e", "U+202E"],
    ["a first-strong isolate", "\u2068", "U+2068"],
    ["a zero-width joiner", "\u200d", "U+200D"],
    ["a Hangul filler", "\u3164", "U+3164"],
    ["a variation selector", "\ufe0f", "U+FE0F"],
    ["a bell control character", "\u0007", "U+0007"],
    ["a DEL control character", "\u007f", "U+007F"],
    ["a line separator", "\u2028", "U+2028"],
    ["a lone surrogate", "\ud800", "U+D800"],
    ["a private-use character", "\ue000", "U+E000"],
  ];

  it.each(INVISIBLE)("refuses an audience with %s, naming audiences and the character", async (_what, c, name) => {
    const err = await rejection(admin.create(input({ audiences: ["https://ok", `https://api.example${c}`] })), AdminError);
    expect(err.code).toBe("invalid_argument");
    expect(err.message).toMatch(naming("audiences"));
    expect(err.message).toContain(`invisible character ${name}`);
    // The message itself stays printable ASCII: the character is escaped, never echoed.
    expect(err.message).toMatch(/^[\x20-\x7e]+$/);
    expect(await storage.listClients("", 10)).toEqual([]);
  });

  it.each(INVISIBLE)("refuses a scope with %s, naming scopes and the character", async (_what, c, name) => {
    const err = await rejection(admin.create(input({ scopes: ["read", `write${c}`] })), AdminError);
    expect(err.code).toBe("invalid_argument");
    expect(err.message).toMatch(naming("scopes"));
    expect(err.message).toContain(`invisible character ${name}`);
    expect(err.message).toMatch(/^[\x20-\x7e]+$/);
  });

  it("accepts an audience with visible non-ASCII letters", async () => {
    expect((await admin.create(input({ audiences: ["https://bücher.example/api"] }))).client.audiences).toEqual([
      "https://bücher.example/api",
    ]);
  });

  it.each([[0], [-1], [1.5], [MAX_TOKEN_TTL_SECONDS + 1], [Number.NaN]])(
    "refuses token ttl %s, naming token_ttl",
    async (tokenTtlSeconds) => {
      await invalidArgument(admin.create(input({ tokenTtlSeconds })), "token_ttl");
    },
  );

  it("accepts token ttl 1 s and 24 h", async () => {
    expect(MAX_TOKEN_TTL_SECONDS).toBe(86_400);
    expect((await admin.create(input({ tokenTtlSeconds: 1 }))).client.tokenTtlSeconds).toBe(1);
    expect((await admin.create(input({ tokenTtlSeconds: 86_400 }))).client.tokenTtlSeconds).toBe(86_400);
  });
});

describe("ClientAdminCore.get", () => {
  it("returns the client", async () => {
    const { client } = await admin.create(input({ name: "Found" }));
    expect((await admin.get(client.clientId)).name).toBe("Found");
  });

  it("unknown id: not_found", async () => {
    expect((await rejection(admin.get("nobody"), AdminError)).code).toBe("not_found");
  });

  it("malformed id: invalid_argument naming client_id", async () => {
    await invalidArgument(admin.get("not valid"), "client_id");
  });
});

describe("ClientAdminCore.list", () => {
  it("pages through 7 clients 3 at a time: 3, 3, 1, in id order, last token empty", async () => {
    const ids = ["g", "c", "a", "e", "b", "f", "d"];
    for (const id of ids) await admin.create(input({ clientId: id }));

    const pages: string[][] = [];
    const tokens: string[] = [];
    let token = "";
    do {
      const page = await admin.list(3, token);
      pages.push(page.clients.map((c) => c.clientId));
      tokens.push(page.nextPageToken);
      token = page.nextPageToken;
    } while (token !== "" && pages.length < 10);

    expect(pages).toEqual([["a", "b", "c"], ["d", "e", "f"], ["g"]]);
    expect(tokens[0]).not.toBe("");
    expect(tokens[1]).not.toBe("");
    expect(tokens[0]).not.toBe(tokens[1]);
    expect(tokens[2]).toBe("");
  });

  it("an exact multiple of the page size ends with an empty token, not an empty page", async () => {
    for (const id of ["a", "b", "c", "d", "e", "f"]) await admin.create(input({ clientId: id }));
    const first = await admin.list(3, "");
    const second = await admin.list(3, first.nextPageToken);
    expect(second.clients.map((c) => c.clientId)).toEqual(["d", "e", "f"]);
    expect(second.nextPageToken).toBe("");
  });

  it("page size 0 means the default size (all 7 here)", async () => {
    for (let i = 0; i < 7; i++) await admin.create(input({ clientId: `c${i}` }));
    const page = await admin.list(0, "");
    expect(page.clients).toHaveLength(7);
    expect(page.nextPageToken).toBe("");
  });

  it("an empty store lists nothing", async () => {
    expect(await admin.list(10, "")).toEqual({ clients: [], nextPageToken: "" });
  });

  it.each([["garbage!"], ["%%%"], [Buffer.from("has space").toString("base64url")], [`${Buffer.from("a").toString("base64")}=`]])(
    "refuses the page token %j, naming page_token",
    async (pageToken) => {
      await admin.create(input({ clientId: "a" }));
      await invalidArgument(admin.list(3, pageToken), "page_token");
    },
  );

  it.each([[-1], [1001], [2.5], [Number.NaN]])("refuses page size %s, naming page_size", async (pageSize) => {
    await invalidArgument(admin.list(pageSize, ""), "page_size");
  });

  it("accepts page size 1000", async () => {
    await admin.create(input({ clientId: "a" }));
    expect((await admin.list(1000, "")).clients).toHaveLength(1);
  });
});

describe("ClientAdminCore.update", () => {
  it("changes only the given fields and sets updateTime", async () => {
    const { client } = await admin.create(input({ name: "Old", scopes: ["a", "b"], audiences: ["https://x"], tokenTtlSeconds: 60 }));
    now = START + 5000;
    const updated = await admin.update(client.clientId, { name: "New" });
    expect(updated).toMatchObject({
      name: "New",
      scopes: ["a", "b"],
      audiences: ["https://x"],
      tokenTtlSeconds: 60,
      disabled: false,
      createTime: START,
      updateTime: START + 5000,
    });
    now = START + 6000;
    const again = await admin.update(client.clientId, { disabled: true, scopes: [], tokenTtlSeconds: 120 });
    expect(again).toMatchObject({ name: "New", scopes: [], audiences: ["https://x"], tokenTtlSeconds: 120, disabled: true });
    expect(await storage.getClient(client.clientId)).toMatchObject({ name: "New", disabled: true, updateTime: START + 6000 });
    expect((await storage.getClient(client.clientId))!.secrets).toHaveLength(1);
  });

  it("refuses an empty patch, naming update_mask", async () => {
    const { client } = await admin.create(input());
    await invalidArgument(admin.update(client.clientId, {}), "update_mask");
    await invalidArgument(admin.update(client.clientId, { name: undefined }), "update_mask");
  });

  it("validates the fields it changes, naming them", async () => {
    const { client } = await admin.create(input());
    const message = async (p: Promise<unknown>) => (await rejection(p, AdminError)).message;
    expect(await message(admin.update(client.clientId, { name: " x" }))).toMatch(naming("name"));
    expect(await message(admin.update(client.clientId, { scopes: ["a b"] }))).toMatch(naming("scopes"));
    expect(await message(admin.update(client.clientId, { audiences: [""] }))).toMatch(naming("audiences"));
    expect(await message(admin.update(client.clientId, { tokenTtlSeconds: 0 }))).toMatch(naming("token_ttl"));
    expect((await storage.getClient(client.clientId))!.name).toBe("Billing");
  });

  it("refuses invisible characters in updated audiences and scopes, naming client.audiences and client.scopes", async () => {
    const { client } = await admin.create(input({ scopes: ["read"], audiences: ["https://api.example"] }));
    const err = async (p: Promise<unknown>) => rejection(p, AdminError);
    const a = await err(admin.update(client.clientId, { audiences: ["https://api.example\u200b"] }));
    expect(a.code).toBe("invalid_argument");
    expect(a.message).toMatch(/^client\.audiences contains "https:\/\/api\.example\\u200b" with the invisible character U\+200B/);
    const s = await err(admin.update(client.clientId, { scopes: ["\u202eread"] }));
    expect(s.code).toBe("invalid_argument");
    expect(s.message).toMatch(/^client\.scopes contains "\\u202eread" with the invisible character U\+202E/);
    expect(await storage.getClient(client.clientId)).toMatchObject({ scopes: ["read"], audiences: ["https://api.example"] });
  });

  it("unknown id: not_found", async () => {
    expect((await rejection(admin.update("nobody", { name: "x" }), AdminError)).code).toBe("not_found");
    expect(await storage.getClient("nobody")).toBeUndefined();
  });
});

describe("ClientAdminCore: cutting off a client's tokens", () => {
  it("tokenCutoff is the next whole second, also on a second boundary", () => {
    expect(tokenCutoff(Date.parse("2030-01-02T03:04:05.678Z"))).toBe(Date.parse("2030-01-02T03:04:06.000Z"));
    expect(tokenCutoff(Date.parse("2030-01-02T03:04:05.000Z"))).toBe(Date.parse("2030-01-02T03:04:06.000Z"));
    expect(tokenCutoff(Date.parse("2030-01-02T03:04:05.999Z"))).toBe(Date.parse("2030-01-02T03:04:06.000Z"));
  });

  it("revokeTokens sets tokensNotBefore to the cut-off and updateTime to now, and is stored", async () => {
    const { client } = await admin.create(input());
    now = START + 2500;
    const cut = await admin.revokeTokens(client.clientId);
    expect(cut).toMatchObject({ tokensNotBefore: tokenCutoff(START + 2500), updateTime: START + 2500, disabled: false });
    expect((await storage.getClient(client.clientId))!.tokensNotBefore).toBe(tokenCutoff(START + 2500));
    // A later cut-off moves it forward.
    now = START + 60_000;
    expect((await admin.revokeTokens(client.clientId)).tokensNotBefore).toBe(tokenCutoff(START + 60_000));
  });

  it("revokeTokens of an unknown id: not_found; of a malformed id: invalid_argument naming client_id", async () => {
    expect((await rejection(admin.revokeTokens("nobody"), AdminError)).code).toBe("not_found");
    await invalidArgument(admin.revokeTokens("bad id"), "client_id");
    expect(await storage.getClient("nobody")).toBeUndefined();
  });

  it("disabling cuts the tokens off; enabling or other changes leave the cut-off alone", async () => {
    const { client } = await admin.create(input());
    now = START + 1000;
    expect(await admin.update(client.clientId, { disabled: true })).toMatchObject({
      disabled: true,
      tokensNotBefore: tokenCutoff(START + 1000),
    });
    now = START + 9000;
    expect(await admin.update(client.clientId, { disabled: false })).toMatchObject({
      disabled: false,
      tokensNotBefore: tokenCutoff(START + 1000),
    });
    expect((await admin.update(client.clientId, { name: "Renamed" })).tokensNotBefore).toBe(tokenCutoff(START + 1000));
  });

  it("update does not let a caller set tokensNotBefore directly", async () => {
    const { client } = await admin.create(input());
    await invalidArgument(admin.update(client.clientId, { tokensNotBefore: START + 3_600_000 }), "update_mask");
    expect((await admin.update(client.clientId, { name: "x", tokensNotBefore: START }))!.tokensNotBefore).toBeNull();
  });
});

describe("ClientAdminCore.delete", () => {
  it("deletes the client; a second delete is not_found", async () => {
    const { client } = await admin.create(input());
    await admin.delete(client.clientId);
    expect(await storage.getClient(client.clientId)).toBeUndefined();
    expect((await rejection(admin.get(client.clientId), AdminError)).code).toBe("not_found");
    expect((await rejection(admin.delete(client.clientId), AdminError)).code).toBe("not_found");
  });
});

describe("ClientAdminCore.rotateSecret", () => {
  it("returns a new valid secret and gives the old one the grace period", async () => {
    const { client, clientSecret: oldSecret } = await admin.create(input());
    now = START + 1000;
    const { client: rotated, clientSecret } = await admin.rotateSecret(client.clientId, 90);
    expect(hasValidSecretChecksum(clientSecret)).toBe(true);
    expect(clientSecret).not.toBe(oldSecret);
    const byHash = (secret: string) => rotated.secrets.find((s) => Buffer.from(s.hash).equals(hashClientSecret(secret)));
    expect(byHash(clientSecret)).toMatchObject({ createTime: now, expireTime: null });
    expect(byHash(oldSecret)).toMatchObject({ createTime: START, expireTime: now + 90_000 });
    expect(rotated.secrets).toHaveLength(2);
    expect(rotated.updateTime).toBe(now);
  });

  it("accepts fractional grace in seconds, to the millisecond", async () => {
    const { client } = await admin.create(input());
    const { client: rotated } = await admin.rotateSecret(client.clientId, 1.5);
    expect(rotated.secrets.map((s) => s.expireTime).sort()).toEqual([START + 1500, null]);
  });

  it.each([[-1], [MAX_GRACE_PERIOD_SECONDS + 1], [Number.NaN], [Number.POSITIVE_INFINITY]])(
    "refuses grace %s, naming grace_period",
    async (grace) => {
      const { client } = await admin.create(input());
      await invalidArgument(admin.rotateSecret(client.clientId, grace), "grace_period");
      expect((await storage.getClient(client.clientId))!.secrets).toHaveLength(1);
    },
  );

  it("accepts the maximum grace of 30 days", async () => {
    expect(MAX_GRACE_PERIOD_SECONDS).toBe(30 * 24 * 3600);
    const { client } = await admin.create(input());
    const { client: rotated } = await admin.rotateSecret(client.clientId, MAX_GRACE_PERIOD_SECONDS);
    expect(rotated.secrets.map((s) => s.expireTime)).toContain(START + MAX_GRACE_PERIOD_SECONDS * 1000);
  });

  it("unknown id: not_found", async () => {
    expect((await rejection(admin.rotateSecret("nobody", 60), AdminError)).code).toBe("not_found");
  });
});

describe("the audit trail of client administration", () => {
  const who = { actor: "tcl_ops", origin: "203.0.113.9" };
  /** The client's events, oldest first, as stored. */
  const eventsOf = async (target: string) => (await storage.listAuditEvents(undefined, 100, target)).reverse();
  /** What an event must hold besides its id. */
  const event = (action: string, target: string, time: number, changes: Record<string, unknown>) => ({
    eventId: expect.any(Number),
    time,
    actor: who.actor,
    origin: who.origin,
    action,
    target,
    changes,
  });

  it("each operation writes one event: who, from where, what, on which client, and the fields it set", async () => {
    const { clientSecret } = await admin.create(
      input({ clientId: "billing", scopes: ["read", "write"], audiences: ["https://api"], tokenTtlSeconds: 600 }),
      who,
    );
    now += 1000;
    await admin.update("billing", { name: "Billing v2", tokenTtlSeconds: 900 }, who);
    now += 1000;
    await admin.update("billing", { scopes: ["read"] }, who);
    now += 1000;
    const disabled = await admin.update("billing", { disabled: true }, who);
    now += 1000;
    const revoked = await admin.revokeTokens("billing", who);
    now += 1000;
    const { client: rotated, clientSecret: newSecret } = await admin.rotateSecret("billing", 60, who);
    const newSecretId = rotated.secrets.find((s) => s.expireTime === null)!.secretId;
    now += 1000;
    await admin.delete("billing", who);

    expect(await eventsOf("billing")).toEqual([
      event("client.create", "billing", START, {
        name: "Billing",
        scopes: ["read", "write"],
        audiences: ["https://api"],
        token_ttl_seconds: 600,
        auth_method: "client_secret",
      }),
      event("client.update", "billing", START + 1000, { name: "Billing v2", token_ttl_seconds: 900 }),
      event("client.update", "billing", START + 2000, { scopes: ["read"] }),
      event("client.update", "billing", START + 3000, {
        disabled: true,
        tokens_not_before: new Date(disabled.tokensNotBefore!).toISOString(),
      }),
      event("client.revoke_tokens", "billing", START + 4000, { tokens_not_before: new Date(revoked.tokensNotBefore!).toISOString() }),
      event("client.rotate_secret", "billing", START + 5000, { new_secret_id: newSecretId, grace_period_seconds: 60 }),
      event("client.delete", "billing", START + 6000, {}),
    ]);
    // The trail records that secrets changed, never a secret or its hash.
    const trail = JSON.stringify(await eventsOf("billing"));
    for (const s of [clientSecret, newSecret]) expect(trail).not.toContain(s);
    for (const s of rotated.secrets) expect(trail).not.toContain(Buffer.from(s.hash).toString("hex"));
  });

  it("auditTrail answers the same events, newest first, for the client asked about only", async () => {
    await admin.create(input({ clientId: "one" }), who);
    await admin.create(input({ clientId: "two" }), who);
    now += 1000;
    await admin.update("one", { name: "One" }, who);
    const { events } = await admin.auditTrail(0, "", "one");
    expect(events.map((e) => [e.action, e.target, e.actor, e.origin])).toEqual([
      ["client.update", "one", who.actor, who.origin],
      ["client.create", "one", who.actor, who.origin],
    ]);
  });

  it("an operation without a caller (a local command) is recorded as local, from local", async () => {
    await admin.create(input({ clientId: "cli-made" }));
    expect(await eventsOf("cli-made")).toEqual([
      {
        eventId: expect.any(Number),
        time: START,
        actor: "local",
        origin: "local",
        action: "client.create",
        target: "cli-made",
        changes: expect.any(Object),
      },
    ]);
  });

  it("a refused operation writes no event", async () => {
    await admin.create(input({ clientId: "taken" }), who);
    await rejection(admin.create(input({ clientId: "taken" }), who), AdminError);
    await rejection(admin.update("taken", {}, who), AdminError);
    await rejection(admin.update("taken", { name: "" }, who), AdminError);
    await rejection(admin.rotateSecret("taken", -1, who), AdminError);
    await rejection(admin.update("nobody", { name: "x" }, who), AdminError);
    await rejection(admin.revokeTokens("nobody", who), AdminError);
    await rejection(admin.rotateSecret("nobody", 60, who), AdminError);
    await rejection(admin.delete("nobody", who), AdminError);
    expect((await eventsOf("taken")).map((e) => e.action)).toEqual(["client.create"]);
    expect(await eventsOf("nobody")).toEqual([]);
  });
});
