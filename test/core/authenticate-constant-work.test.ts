import { beforeEach, describe, expect, it, vi } from "vitest";
import { authenticateClient } from "../../src/core/authenticate.js";
import { ClientAdminCore } from "../../src/core/client-admin.js";
import * as secrets from "../../src/core/client-secret.js";
import { OAuthError } from "../../src/core/errors.js";
import { SecretUseTracker } from "../../src/core/secret-use.js";
import { MemoryStorage } from "../../src/storage/memory/memory-storage.js";

// Unknown, disabled, expired-secret and wrong-secret clients must cost the server the same
// work, or timing tells an attacker which ids exist and which are disabled: one hash of the
// presented secret and one constant-time comparison of whole hashes, every time. The hashing
// and comparison functions are wrapped (still doing their real work) to count the calls.
vi.mock("../../src/core/client-secret.js", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../../src/core/client-secret.js")>();
  return { ...actual, hashClientSecret: vi.fn(actual.hashClientSecret), secretHashesEqual: vi.fn(actual.secretHashesEqual) };
});

const hash = vi.mocked(secrets.hashClientSecret);
const compare = vi.mocked(secrets.secretHashesEqual);
const T0 = Date.parse("2030-01-02T03:04:05Z");

let storage: MemoryStorage;
let admin: ClientAdminCore;
let now = T0;

beforeEach(() => {
  storage = new MemoryStorage();
  now = T0;
  admin = new ClientAdminCore(storage, () => now);
});

async function client(): Promise<{ clientId: string; clientSecret: string }> {
  const { client, clientSecret } = await admin.create({
    clientId: "",
    name: "c",
    scopes: ["read"],
    audiences: [],
    tokenTtlSeconds: undefined,
  });
  return { clientId: client.clientId, clientSecret };
}

/** The hashing and comparing one authentication does, and whether it succeeded. */
async function workFor(
  clientId: string,
  clientSecret: string,
): Promise<{ ok: boolean; hashes: number; comparisons: number; compared: number[] }> {
  hash.mockClear();
  compare.mockClear();
  let ok = true;
  try {
    await authenticateClient(storage, { clientId, clientSecret, method: "client_secret_post" }, now, new SecretUseTracker());
  } catch (err) {
    expect(err).toStrictEqual(new OAuthError("invalid_client", "Client authentication failed", "client_secret_post"));
    ok = false;
  }
  // Both sides of every comparison are whole SHA-256 hashes, so the comparison does its full work.
  const compared = compare.mock.calls.flatMap(([a, b]) => [a.byteLength, b.byteLength]);
  return { ok, hashes: hash.mock.calls.length, comparisons: compare.mock.calls.length, compared };
}

const SAME_WORK = { hashes: 1, comparisons: 1, compared: [32, 32] };

describe("authentication does the same work for every failure", () => {
  it("a wrong secret: one hash, one comparison", async () => {
    const c = await client();
    expect(await workFor(c.clientId, "tsec_wrong")).toStrictEqual({ ok: false, ...SAME_WORK });
  });

  it("an unknown client id: the same, against a dummy hash", async () => {
    expect(await workFor("tcl_NoSuchClient", "tsec_wrong")).toStrictEqual({ ok: false, ...SAME_WORK });
  });

  it("a disabled client, even with its right secret: the same", async () => {
    const c = await client();
    await admin.update(c.clientId, { disabled: true });
    expect(await workFor(c.clientId, c.clientSecret)).toStrictEqual({ ok: false, ...SAME_WORK });
  });

  it("a client whose only secret has expired, presented with it: the same", async () => {
    // Rotation always leaves a live secret, so the record is written to storage directly.
    const { client: record } = await admin.create({
      clientId: "expired-only",
      name: "c",
      scopes: ["read"],
      audiences: [],
      tokenTtlSeconds: undefined,
    });
    await storage.deleteClient(record.clientId);
    const secret = "tsec_expired";
    await storage.createClient({
      ...record,
      secrets: [{ secretId: "sec_old", hash: secrets.hashClientSecret(secret), createTime: T0, expireTime: T0 + 1000, lastUsedTime: null }],
    });
    now = T0 + 1000;
    expect(await workFor(record.clientId, secret)).toStrictEqual({ ok: false, ...SAME_WORK });
  });

  it("a client in a secret rotation, with its expired old secret: the same", async () => {
    const c = await client();
    await admin.rotateSecret(c.clientId, 60);
    now += 60_000;
    expect(await workFor(c.clientId, c.clientSecret)).toStrictEqual({ ok: false, ...SAME_WORK });
  });

  it("an id too long to exist: the same", async () => {
    expect(await workFor("x".repeat(10_000), "tsec_wrong")).toStrictEqual({ ok: false, ...SAME_WORK });
  });

  it("and the right secret costs the same as all of them", async () => {
    const c = await client();
    expect(await workFor(c.clientId, c.clientSecret)).toStrictEqual({ ok: true, ...SAME_WORK });
  });
});
