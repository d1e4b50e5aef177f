import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { basic } from "../../helpers/test-server.js";
import { useClockedServer } from "./clocked-server.js";
import { type FetchAnswer, formPost, grpcCall, header, type RawAnswer, rawExchange, rawPost } from "./wire.js";

// Throttling of failed authentications (RFC 6749 §2.3.1: protect against brute force) per
// source address and client id, against the real server with a fake clock:
// TESSERA_AUTH_FAILURE_LIMIT=3 per TESSERA_AUTH_FAILURE_WINDOW=60s, so one failure's
// allowance comes back every 20 s and all three after 60 s; TESSERA_AUTH_FAILURE_ADDRESS_LIMIT=6
// failures per address over any ids. Client ids are public, so failures from one address must
// never refuse the right secret presented from another: that would let anyone lock any client
// out. The test's requests come from 127.0.0.1 unless they say otherwise; an attacker sits on
// 127.0.0.2 (a socket bound there) or, behind the trusted proxy 127.0.0.1, in X-Forwarded-For.

// An hour later every earlier id has its whole allowance back.
const t = useClockedServer(
  {
    TESSERA_AUTH_FAILURE_LIMIT: "3",
    TESSERA_AUTH_FAILURE_WINDOW: "60s",
    TESSERA_AUTH_FAILURE_ADDRESS_LIMIT: "6",
    TESSERA_TRUST_PROXY: "127.0.0.1",
  },
  3_600_000,
);

const post = (id: string, secret: string) => formPost(t.url, { grant_type: "client_credentials", client_id: id, client_secret: secret });
const ATTACKER = "127.0.0.2";
const formBody = (id: string, secret: string) =>
  new URLSearchParams({ grant_type: "client_credentials", client_id: id, client_secret: secret }).toString();
/** POST /oauth/token over a socket bound to `localAddress`. */
const postFrom = (localAddress: string, id: string, secret: string) =>
  rawExchange(t.server.port, rawPost(formBody(id, secret)), undefined, localAddress);
const PAIR = "Too many failed authentication attempts for this client from this address";
const ADDRESS = "Too many failed authentication attempts from this address";

async function failThrice(id: string): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const a = await post(id, `wrong-${i}`);
    expect(a.status).toBe(401);
    expect(a.json).toStrictEqual({ error: "invalid_client", error_description: "Client authentication failed" });
  }
}

function expectThrottled(a: FetchAnswer, seconds = 20, why = PAIR): void {
  expect(a.status).toBe(429);
  expect(a.headers.get("retry-after")).toBe(String(seconds));
  expect(a.headers.get("cache-control")).toBe("no-store");
  expect(a.headers.get("www-authenticate")).toBeNull();
  expect(a.json).toStrictEqual({ error: "temporarily_unavailable", error_description: `${why}; retry in ${seconds}s` });
  // RFC 6749 §5.2: error_description is printable ASCII without double quote and backslash.
  expect(a.json!.error_description).toMatch(/^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/);
}

function expectThrottledRaw(a: RawAnswer, seconds = 20, why = PAIR): void {
  expect(a.status).toBe(429);
  expect(header(a, "retry-after")).toBe(String(seconds));
  expect(JSON.parse(a.body.toString())).toStrictEqual({
    error: "temporarily_unavailable",
    error_description: `${why}; retry in ${seconds}s`,
  });
}

/** The answer without its Date header line: everything else must match byte for byte. */
function withoutDate(a: RawAnswer): string {
  return a.bytes.toString("latin1").replace(/\r\ndate: [^\r]*/i, "");
}

describe("failed authentications throttle the client id for the address they come from", () => {
  it("after 3 wrong secrets the id is refused with 429 and Retry-After, even with the right secret", async () => {
    const c = await t.server.createClient();
    await failThrice(c.clientId);
    expectThrottled(await post(c.clientId, c.clientSecret));
    expectThrottled(await formPost(t.url, { grant_type: "client_credentials" }, { authorization: basic(c.clientId, c.clientSecret) }));
    // IssueToken is the same door to the same core: RESOURCE_EXHAUSTED with retry-after.
    const g = await grpcCall(t.tokens, "IssueToken", { client_id: c.clientId, client_secret: c.clientSecret });
    expect(g).toMatchObject({
      ok: false,
      code: grpc.status.RESOURCE_EXHAUSTED,
      details: `${PAIR}; retry in 20s`,
      reason: "temporarily_unavailable",
      trailers: { "retry-after": "20" },
    });
  });

  it("does not affect other clients, nor an id that differs only in case", async () => {
    const victim = await t.server.createClient();
    const other = await t.server.createClient();
    await failThrice(victim.clientId);
    expectThrottled(await post(victim.clientId, victim.clientSecret));
    expect((await post(other.clientId, other.clientSecret)).status).toBe(200);
    expect((await grpcCall(t.tokens, "IssueToken", { client_id: other.clientId, client_secret: other.clientSecret })).ok).toBe(true);
    const upper = await post(victim.clientId.toUpperCase(), "x");
    expect(upper.status).toBe(401);
  });

  it("counts failures from every door together: form, Basic, IssueToken and /oauth/introspect", async () => {
    const c = await t.server.createClient();
    expect((await formPost(t.url, { grant_type: "client_credentials" }, { authorization: basic(c.clientId, "bad") })).status).toBe(401);
    const g = await grpcCall(t.tokens, "IssueToken", { client_id: c.clientId, client_secret: "bad" });
    expect(g).toMatchObject({ ok: false, code: grpc.status.UNAUTHENTICATED, reason: "invalid_client" });
    expect((await formPost(`${t.server.url}/oauth/introspect`, { token: "t", client_id: c.clientId, client_secret: "bad" })).status).toBe(
      401,
    );
    expectThrottled(await post(c.clientId, c.clientSecret));
  });

  it("recovers after the window: one attempt after 20 s, the whole allowance after 60 s", async () => {
    const c = await t.server.createClient();
    await failThrice(c.clientId);
    t.now += 19_000;
    expect((await post(c.clientId, c.clientSecret)).status).toBe(429);
    t.now += 1_000;
    expect((await post(c.clientId, c.clientSecret)).status).toBe(200);
    // Throttled again by one more failure, then a full window restores all three attempts.
    expect((await post(c.clientId, "wrong")).status).toBe(401);
    expectThrottled(await post(c.clientId, c.clientSecret));
    t.now += 60_000;
    await failThrice(c.clientId);
    expectThrottled(await post(c.clientId, c.clientSecret));
    t.now += 60_000;
    expect((await post(c.clientId, c.clientSecret)).status).toBe(200);
  });

  it("hammering a throttled id (50 more attempts) does not extend the penalty", async () => {
    const c = await t.server.createClient();
    await failThrice(c.clientId);
    for (let i = 0; i < 50; i++) expect((await post(c.clientId, `guess-${i}`)).status).toBe(429);
    t.now += 20_000;
    expect((await post(c.clientId, c.clientSecret)).status).toBe(200);
  });
});

describe("failures from one address never lock the client out for another", () => {
  it("an attacker's wrong secrets on 127.0.0.2 (thirty of them, and more every few seconds) leave the real client on 127.0.0.1 untouched", async () => {
    const victim = await t.server.createClient();
    for (let i = 0; i < 30; i++) expect((await postFrom(ATTACKER, victim.clientId, `guess-${i}`)).status).toBe(i < 3 ? 401 : 429);
    expectThrottledRaw(await postFrom(ATTACKER, victim.clientId, "guess"));
    for (let round = 0; round < 5; round++) {
      // The right secret from the client's own address: a token every time, over the form and gRPC.
      expect((await post(victim.clientId, victim.clientSecret)).status).toBe(200);
      expect((await postFrom("127.0.0.1", victim.clientId, victim.clientSecret)).status).toBe(200);
      expect((await grpcCall(t.tokens, "IssueToken", { client_id: victim.clientId, client_secret: victim.clientSecret })).ok).toBe(true);
      t.now += 5_000;
      await postFrom(ATTACKER, victim.clientId, `guess-${round}`);
    }
  });

  it("the attacker's address is refused even with the right secret: the throttle cannot tell a guess from a hit", async () => {
    const victim = await t.server.createClient();
    for (let i = 0; i < 3; i++) await postFrom(ATTACKER, victim.clientId, `guess-${i}`);
    expectThrottledRaw(await postFrom(ATTACKER, victim.clientId, victim.clientSecret));
    expect((await post(victim.clientId, victim.clientSecret)).status).toBe(200);
  });

  it("behind a trusted proxy the address is the client's from X-Forwarded-For, on the form and on gRPC", async () => {
    const victim = await t.server.createClient();
    const attacker = { "x-forwarded-for": "203.0.113.7" };
    const client = { "x-forwarded-for": "198.51.100.20" };
    for (let i = 0; i < 3; i++) {
      const g = await grpcCall(t.tokens, "IssueToken", { client_id: victim.clientId, client_secret: `guess-${i}` }, { metadata: attacker });
      expect(g).toMatchObject({ ok: false, code: grpc.status.UNAUTHENTICATED });
    }
    expectThrottled(
      await formPost(t.url, { grant_type: "client_credentials", client_id: victim.clientId, client_secret: victim.clientSecret }, attacker),
    );
    const blocked = await grpcCall(
      t.tokens,
      "IssueToken",
      { client_id: victim.clientId, client_secret: victim.clientSecret },
      { metadata: attacker },
    );
    expect(blocked).toMatchObject({
      ok: false,
      code: grpc.status.RESOURCE_EXHAUSTED,
      details: `${PAIR}; retry in 20s`,
      trailers: { "retry-after": "20" },
    });
    expect(
      (await formPost(t.url, { grant_type: "client_credentials", client_id: victim.clientId, client_secret: victim.clientSecret }, client))
        .status,
    ).toBe(200);
    expect(
      (await grpcCall(t.tokens, "IssueToken", { client_id: victim.clientId, client_secret: victim.clientSecret }, { metadata: client })).ok,
    ).toBe(true);
  });

  it("the admin client keeps its token while an attacker guesses its secret", async () => {
    const admin = await t.server.admin();
    for (let i = 0; i < 20; i++) await postFrom(ATTACKER, admin.clientId, `guess-${i}`);
    const a = await formPost(
      t.url,
      { grant_type: "client_credentials", scope: "tessera:admin" },
      { authorization: basic(admin.clientId, admin.clientSecret) },
    );
    expect(a.status).toBe(200);
  });

  it("one address that fails over many ids (6) is refused for any id, known or not; other addresses are not", async () => {
    const real = await t.server.createClient();
    for (let i = 0; i < 6; i++) expect((await postFrom(ATTACKER, `tcl_Spray${i}`, "guess")).status).toBe(401);
    const known = await postFrom(ATTACKER, real.clientId, real.clientSecret);
    const unknown = await postFrom(ATTACKER, "tcl_NoSuchClient009", "x".repeat(real.clientSecret.length));
    expectThrottledRaw(known, 10, ADDRESS);
    expect(withoutDate(known)).toBe(withoutDate(unknown));
    expect((await post(real.clientId, real.clientSecret)).status).toBe(200);
    t.now += 10_000;
    expect((await postFrom(ATTACKER, real.clientId, real.clientSecret)).status).toBe(200);
  });
});

describe("the throttled answer does not reveal whether the client exists", () => {
  it("is byte-for-byte the same for a real id and an unknown id (form and Basic), apart from Date", async () => {
    const real = await t.server.createClient();
    const unknown = "tcl_NoSuchClient000";
    await failThrice(real.clientId);
    await failThrice(unknown);
    const form = (id: string, secret: string) =>
      rawExchange(
        t.server.port,
        rawPost(new URLSearchParams({ grant_type: "client_credentials", client_id: id, client_secret: secret }).toString()),
      );
    // The real id with its right secret, the unknown one with a guess of the same length.
    const a = await form(real.clientId, real.clientSecret);
    const b = await form(unknown, "x".repeat(real.clientSecret.length));
    expect(a.status).toBe(429);
    expect(withoutDate(a)).toBe(withoutDate(b));

    const viaBasic = (id: string, secret: string) =>
      rawExchange(
        t.server.port,
        rawPost("grant_type=client_credentials", [
          "Content-Type: application/x-www-form-urlencoded",
          `Authorization: ${basic(id, secret)}`,
        ]),
      );
    const c = await viaBasic(real.clientId, real.clientSecret);
    const d = await viaBasic(unknown, "wrong");
    expect(c.status).toBe(429);
    expect(withoutDate(c)).toBe(withoutDate(d));
    expect(withoutDate(c)).toBe(withoutDate(a));
  });

  it("is the same gRPC status, message, reason and trailers for a real id and an unknown id", async () => {
    const real = await t.server.createClient();
    const unknown = "tcl_NoSuchClient001";
    await failThrice(real.clientId);
    await failThrice(unknown);
    const a = await grpcCall(t.tokens, "IssueToken", { client_id: real.clientId, client_secret: real.clientSecret });
    const b = await grpcCall(t.tokens, "IssueToken", { client_id: unknown, client_secret: "whatever" });
    expect(a.ok).toBe(false);
    if (a.ok || b.ok) return;
    const strip = (t: Record<string, string>) => Object.fromEntries(Object.entries(t).filter(([k]) => k !== "date"));
    expect({ ...b, trailers: strip(b.trailers) }).toStrictEqual({ ...a, trailers: strip(a.trailers) });
    expect(a.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it("and the failures before it are alike too: 401 invalid_client for the real and the unknown id", async () => {
    const real = await t.server.createClient();
    const form = (id: string) =>
      rawExchange(
        t.server.port,
        rawPost(new URLSearchParams({ grant_type: "client_credentials", client_id: id, client_secret: "bad" }).toString()),
      );
    const a = await form(real.clientId);
    const b = await form("tcl_NoSuchClient002");
    expect(a.status).toBe(401);
    expect(withoutDate(a)).toBe(withoutDate(b));
  });
});
