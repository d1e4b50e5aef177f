import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config.js";
import { basic } from "../../helpers/test-server.js";
import { useClockedServer } from "./clocked-server.js";
import { formPost, grpcCall } from "./wire.js";

// Revocations per client per window (TESSERA_REVOCATION_LIMIT=3 per TESSERA_REVOCATION_WINDOW=60s
// here), against the real server on a fake clock. Each revocation is a deny-list entry and a
// synchronous write, so a client must not be able to add them without bound. Over the limit
// the answer is what RFC 7009 §2.2.1 allows: 503 with Retry-After (gRPC UNAVAILABLE with the
// same retry-after trailer), and the token stays active until the client retries.

const t = useClockedServer({ TESSERA_REVOCATION_LIMIT: "3", TESSERA_REVOCATION_WINDOW: "60s" }, 3_600_000);

type Client = { clientId: string; clientSecret: string };

async function token(c: Client): Promise<string> {
  const a = await formPost(t.url, { grant_type: "client_credentials" }, { authorization: basic(c.clientId, c.clientSecret) });
  expect(a.status).toBe(200);
  return a.json!.access_token as string;
}
const revoke = (c: Client, tok: string) =>
  formPost(`${t.server.url}/oauth/revoke`, { token: tok }, { authorization: basic(c.clientId, c.clientSecret) });

async function active(tok: string): Promise<boolean> {
  const rs = await t.server.createClient({ scopes: ["tessera:introspect"] });
  const a = await formPost(`${t.server.url}/oauth/introspect`, { token: tok }, { authorization: basic(rs.clientId, rs.clientSecret) });
  expect(a.status).toBe(200);
  return a.json!.active as boolean;
}

describe("revocations are capped per client and per window", () => {
  it("the 4th revocation in a minute is 503 temporarily_unavailable with Retry-After, and that token stays active", async () => {
    const c = await t.server.createClient();
    for (let i = 0; i < 3; i++) {
      const tok = await token(c);
      expect((await revoke(c, tok)).status).toBe(200);
      expect(await active(tok)).toBe(false);
    }
    const fourth = await token(c);
    const a = await revoke(c, fourth);
    expect(a.status).toBe(503);
    expect(a.headers.get("retry-after")).toBe("20");
    expect(a.headers.get("cache-control")).toBe("no-store");
    expect(a.json).toStrictEqual({
      error: "temporarily_unavailable",
      error_description: "Too many revocations by this client; retry in 20s",
    });
    expect(await active(fourth)).toBe(true);
    // Retried after Retry-After, it is revoked.
    t.now += 20_000;
    expect((await revoke(c, fourth)).status).toBe(200);
    expect(await active(fourth)).toBe(false);
  });

  it("over gRPC RevokeToken answers UNAVAILABLE with the reason and the retry-after trailer", async () => {
    const c = await t.server.createClient();
    for (let i = 0; i < 3; i++) {
      expect(
        (await grpcCall(t.tokens, "RevokeToken", { client_id: c.clientId, client_secret: c.clientSecret, token: await token(c) })).ok,
      ).toBe(true);
    }
    const g = await grpcCall(t.tokens, "RevokeToken", { client_id: c.clientId, client_secret: c.clientSecret, token: await token(c) });
    expect(g).toMatchObject({
      ok: false,
      code: grpc.status.UNAVAILABLE,
      details: "Too many revocations by this client; retry in 20s",
      reason: "temporarily_unavailable",
      trailers: { "retry-after": "20" },
    });
  });

  it("counts one client's revocations only: another client revokes at once", async () => {
    const busy = await t.server.createClient();
    const other = await t.server.createClient();
    for (let i = 0; i < 3; i++) await revoke(busy, await token(busy));
    expect((await revoke(busy, await token(busy))).status).toBe(503);
    expect((await revoke(other, await token(other))).status).toBe(200);
  });

  it("counts only what would be stored: unknown, expired and foreign tokens spend nothing", async () => {
    const c = await t.server.createClient();
    const stranger = await t.server.createClient();
    for (let i = 0; i < 10; i++) expect((await revoke(c, `not-a-token-${i}`)).status).toBe(200);
    expect((await revoke(c, await token(stranger))).json).toMatchObject({ error: "unauthorized_client" });
    for (let i = 0; i < 3; i++) expect((await revoke(c, await token(c))).status).toBe(200);
  });
});

describe("the default", () => {
  it("is 100 revocations per client per minute, far above what a real client does", () => {
    expect(loadConfig({}, {})).toMatchObject({ revocationLimit: 100, revocationWindowMs: 60_000 });
    expect(loadConfig({}, { TESSERA_REVOCATION_LIMIT: "0" }).revocationLimit).toBe(0);
    expect(() => loadConfig({ revocationLimit: "many" }, {})).toThrow(/--revocation-limit must be a whole number from 0 \(off\)/);
  });
});
