import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grpcClient } from "../../helpers/grpc-js.js";
import { startTestServer, type TestServer } from "../../helpers/test-server.js";
import { type GrpcAnswer, grpcCall } from "../limits/wire.js";

// Hostile values in ClientAdmin RPCs against the real server (grpc-js, and Connect JSON on the
// same port): out-of-range fields get INVALID_ARGUMENT with a message that starts with the
// field's name, nothing is half-written, concurrent creates of one id leave exactly one whole
// client, and a 1 ms deadline never produces INTERNAL.

interface ProtoClient {
  client_id: string;
  name: string;
  scopes: string[];
  audiences: string[];
  token_ttl: { seconds: string; nanos: number } | null;
  disabled: boolean;
  secrets: { secret_id: string }[];
}

let server: TestServer;
let admin: grpc.Client;
let tokens: grpc.Client;
let bearer: Record<string, string>;

beforeAll(async () => {
  // The failure throttle is off: one test tries 21 secrets of which 20 must fail.
  server = await startTestServer({ env: { TESSERA_AUTH_FAILURE_LIMIT: "0" } });
  admin = grpcClient("ClientAdmin", server.port);
  tokens = grpcClient("TokenService", server.port);
  const a = await server.admin();
  const t = await grpcCall<{ access_token: string }>(tokens, "IssueToken", { client_id: a.clientId, client_secret: a.clientSecret });
  if (!t.ok) throw new Error(`no admin token: ${t.details}`);
  bearer = { authorization: `Bearer ${t.response.access_token}` };
});
afterAll(async () => {
  admin?.close();
  tokens?.close();
  await server?.stop();
});

const call = <T = Record<string, unknown>>(method: string, request: object, deadlineMs?: number) =>
  grpcCall<T>(admin, method, request, { metadata: bearer, ...(deadlineMs === undefined ? {} : { deadlineMs }) });

function expectInvalid(a: GrpcAnswer<unknown>, details: string | RegExp): void {
  expect(a.ok).toBe(false);
  if (a.ok) return;
  expect(a.code).toBe(grpc.status.INVALID_ARGUMENT);
  if (typeof details === "string") expect(a.details).toBe(details);
  else expect(a.details).toMatch(details);
  expect(a.details.length).toBeLessThan(300); // never echoes a huge input back
}

const TEN_KB = "a".repeat(10_240);
const NAME = "name must be 1-200 characters without control characters or surrounding spaces";
const CLIENT_ID = "client_id must be 1-128 characters from A-Z a-z 0-9 . _ ~ -";
const TTL_NEGATIVE = "token_ttl must be a non-negative duration";
const TTL_RANGE = "token_ttl must be whole seconds from 1s to 86400s";
const PAGE_SIZE = "page_size must be between 0 and 1000";
const SCOPE_TOKEN =
  /^scopes contains ".*" which is not an RFC 6749 scope token \(printable ASCII without space or " or \\ and at most 200 characters\)$/;
const AUDIENCE = /^audiences contains ".*" but each audience must be 1-2000 characters without spaces or control characters$/;
/** The sentence for a value holding a character nobody can see, with the value escaped to ASCII. */
const invisible = (field: string, escaped: string, codePoint: string) =>
  `${field} contains "${escaped}" with the invisible character ${codePoint}; control, format, zero-width and bidi characters are refused because they make different values look the same`;

/** [what, method, request, expected INVALID_ARGUMENT message] */
const INVALID: [string, string, () => object, string | RegExp][] = [
  ["a negative token_ttl", "CreateClient", () => ({ name: "x", token_ttl: { seconds: -5 } }), TTL_NEGATIVE],
  [
    "the most negative int64 token_ttl",
    "CreateClient",
    () => ({ name: "x", token_ttl: { seconds: "-9223372036854775808" } }),
    TTL_NEGATIVE,
  ],
  ["a token_ttl of -1 ns", "CreateClient", () => ({ name: "x", token_ttl: { seconds: 0, nanos: -1 } }), TTL_NEGATIVE],
  [
    "a token_ttl with nanos out of range",
    "CreateClient",
    () => ({ name: "x", token_ttl: { seconds: 0, nanos: 2_000_000_000 } }),
    TTL_NEGATIVE,
  ],
  ["a zero token_ttl", "CreateClient", () => ({ name: "x", token_ttl: { seconds: 0 } }), TTL_RANGE],
  ["a fractional token_ttl", "CreateClient", () => ({ name: "x", token_ttl: { seconds: 1, nanos: 500_000_000 } }), TTL_RANGE],
  ["the largest int64 token_ttl", "CreateClient", () => ({ name: "x", token_ttl: { seconds: "9223372036854775807" } }), TTL_RANGE],
  ["a 10 KB name", "CreateClient", () => ({ name: TEN_KB }), NAME],
  ["an empty name", "CreateClient", () => ({ name: "" }), NAME],
  ["a NUL in the name", "CreateClient", () => ({ name: "billing\u0000" }), NAME],
  ["an ANSI escape in the name", "CreateClient", () => ({ name: "\u001b[31mred" }), NAME],
  ["a bidi override in the name", "CreateClient", () => ({ name: "abc\u202edef" }), NAME],
  ["a line separator in the name", "CreateClient", () => ({ name: "a\u2028b" }), NAME],
  ["a name with surrounding spaces", "CreateClient", () => ({ name: " billing " }), NAME],
  [
    "1,000 audiences",
    "CreateClient",
    () => ({ name: "x", audiences: Array.from({ length: 1000 }, (_, i) => `https://a${i}.example`) }),
    "audiences may hold at most 100 audiences",
  ],
  ["a 10 KB audience", "CreateClient", () => ({ name: "x", audiences: [TEN_KB] }), AUDIENCE],
  ["an empty audience", "CreateClient", () => ({ name: "x", audiences: [""] }), AUDIENCE],
  [
    "a NUL in an audience",
    "CreateClient",
    () => ({ name: "x", audiences: ["https://a\u0000"] }),
    invisible("audiences", "https://a\\u0000", "U+0000"),
  ],
  [
    "a zero-width space in an audience",
    "CreateClient",
    () => ({ name: "x", audiences: ["https://api.example\u200b"] }),
    invisible("audiences", "https://api.example\\u200b", "U+200B"),
  ],
  [
    "a byte order mark leading an audience",
    "CreateClient",
    () => ({ name: "x", audiences: ["\ufeffhttps://api.example"] }),
    invisible("audiences", "\\ufeffhttps://api.example", "U+FEFF"),
  ],
  [
    "a byte order mark in an audience",
    "CreateClient",
    () => ({ name: "x", audiences: ["https://api.\ufeffexample"] }),
    invisible("audiences", "https://api.\\ufeffexample", "U+FEFF"),
  ],
  [
    "a bidi override in an audience",
    "CreateClient",
    () => ({ name: "x", audiences: ["https://\u202eelpmaxe.ipa"] }),
    invisible("audiences", "https://\\u202eelpmaxe.ipa", "U+202E"),
  ],
  [
    "a soft hyphen in an audience",
    "CreateClient",
    () => ({ name: "x", audiences: ["https://ap\u00adi.example"] }),
    invisible("audiences", "https://ap\\u00adi.example", "U+00AD"),
  ],
  [
    "10,000 scopes",
    "CreateClient",
    () => ({ name: "x", scopes: Array.from({ length: 10_000 }, (_, i) => `s${i.toString(36)}`) }),
    "scopes may hold at most 200 scopes",
  ],
  ["a 10 KB scope", "CreateClient", () => ({ name: "x", scopes: [TEN_KB] }), SCOPE_TOKEN],
  ["a scope with a space", "CreateClient", () => ({ name: "x", scopes: ["read write"] }), SCOPE_TOKEN],
  ["a NUL in a scope", "CreateClient", () => ({ name: "x", scopes: ["read\u0000"] }), invisible("scopes", "read\\u0000", "U+0000")],
  [
    "a zero-width space in a scope",
    "CreateClient",
    () => ({ name: "x", scopes: ["tessera:admin\u200b"] }),
    invisible("scopes", "tessera:admin\\u200b", "U+200B"),
  ],
  ["a soft hyphen in a scope", "CreateClient", () => ({ name: "x", scopes: ["re\u00adad"] }), invisible("scopes", "re\\u00adad", "U+00AD")],
  ["a 10 KB client id", "CreateClient", () => ({ name: "x", client_id: TEN_KB }), CLIENT_ID],
  ["a path as client id", "CreateClient", () => ({ name: "x", client_id: "../../etc/passwd" }), CLIENT_ID],
  ["a NUL in the client id", "CreateClient", () => ({ name: "x", client_id: "a\u0000b" }), CLIENT_ID],
  ["a non-ASCII client id", "CreateClient", () => ({ name: "x", client_id: "clïent" }), CLIENT_ID],
  ["a huge page_size", "ListClients", () => ({ page_size: 1_000_000 }), PAGE_SIZE],
  ["the largest int32 page_size", "ListClients", () => ({ page_size: 2_147_483_647 }), PAGE_SIZE],
  ["a negative page_size", "ListClients", () => ({ page_size: -1 }), PAGE_SIZE],
  ["a forged page_token", "ListClients", () => ({ page_token: "!!not-ours" }), "page_token is not a token returned by ListClients"],
  ["a 10 KB page_token", "ListClients", () => ({ page_token: TEN_KB }), "page_token is not a token returned by ListClients"],
  [
    "a page_token that decodes to a bad id",
    "ListClients",
    () => ({ page_token: Buffer.from("a b").toString("base64url") }),
    "page_token is not a token returned by ListClients",
  ],
  ["a huge audit page_size", "ListAuditEvents", () => ({ page_size: 2_147_483_647 }), PAGE_SIZE],
  [
    "a negative audit page_token",
    "ListAuditEvents",
    () => ({ page_token: Buffer.from("-1").toString("base64url") }),
    "page_token is not a token returned by ListAuditEvents",
  ],
  ["a 10 KB id to GetClient", "GetClient", () => ({ client_id: TEN_KB }), CLIENT_ID],
  ["an empty id to GetClient", "GetClient", () => ({ client_id: "" }), CLIENT_ID],
  ["a path as id to DeleteClient", "DeleteClient", () => ({ client_id: "../x" }), CLIENT_ID],
  ["a 10 KB id to RevokeClientTokens", "RevokeClientTokens", () => ({ client_id: TEN_KB }), CLIENT_ID],
  [
    "a negative grace_period",
    "RotateClientSecret",
    () => ({ client_id: "some-client", grace_period: { seconds: -5 } }),
    "grace_period must be a non-negative duration",
  ],
  [
    "a huge grace_period",
    "RotateClientSecret",
    () => ({ client_id: "some-client", grace_period: { seconds: 1_000_000_000 } }),
    "grace_period must be between 0s and 2592000s",
  ],
  ["an update without a client", "UpdateClient", () => ({ update_mask: { paths: ["name"] } }), "client is required"],
  [
    "an update without a mask",
    "UpdateClient",
    () => ({ client: { client_id: "some-client", name: "n" } }),
    "update_mask is required and must name at least one field",
  ],
  [
    "an update of the secrets",
    "UpdateClient",
    () => ({ client: { client_id: "some-client" }, update_mask: { paths: ["secrets"] } }),
    'update_mask names "secrets" which cannot be updated (allowed are name scopes audiences token_ttl disabled auth_method jwks_uri)',
  ],
  [
    "a token_ttl update without the value",
    "UpdateClient",
    () => ({ client: { client_id: "some-client" }, update_mask: { paths: ["token_ttl"] } }),
    "client.token_ttl is required when update_mask names it",
  ],
  [
    "a negative token_ttl update",
    "UpdateClient",
    () => ({ client: { client_id: "some-client", token_ttl: { seconds: -1 } }, update_mask: { paths: ["token_ttl"] } }),
    "client.token_ttl must be a non-negative duration",
  ],
  [
    "a 10 KB name update",
    "UpdateClient",
    () => ({ client: { client_id: "some-client", name: TEN_KB }, update_mask: { paths: ["name"] } }),
    `client.${NAME}`,
  ],
  [
    "a 1,000-audience update",
    "UpdateClient",
    () => ({
      client: { client_id: "some-client", audiences: Array.from({ length: 1000 }, (_, i) => `a${i}`) },
      update_mask: { paths: ["audiences"] },
    }),
    "client.audiences may hold at most 100 audiences",
  ],
  [
    "a zero-width space in updated audiences",
    "UpdateClient",
    () => ({ client: { client_id: "some-client", audiences: ["https://api.example\u200b"] }, update_mask: { paths: ["audiences"] } }),
    invisible("client.audiences", "https://api.example\\u200b", "U+200B"),
  ],
  [
    "a bidi isolate in updated scopes",
    "UpdateClient",
    () => ({ client: { client_id: "some-client", scopes: ["\u2066read"] }, update_mask: { paths: ["scopes"] } }),
    invisible("client.scopes", "\\u2066read", "U+2066"),
  ],
  [
    "an update of a 10 KB id",
    "UpdateClient",
    () => ({ client: { client_id: TEN_KB, name: "n" }, update_mask: { paths: ["name"] } }),
    `client.${CLIENT_ID}`,
  ],
];

describe("out-of-range values in admin RPCs -> INVALID_ARGUMENT naming the field", () => {
  for (const [what, method, request, details] of INVALID) {
    it(`${method}: ${what}`, async () => {
      expectInvalid(await call(method, request()), details);
    });
  }

  it("a garbage 10 KB bearer token -> UNAUTHENTICATED", async () => {
    const a = await grpcCall(admin, "ListClients", {}, { metadata: { authorization: `Bearer ${TEN_KB}` } });
    expect(a).toMatchObject({
      ok: false,
      code: grpc.status.UNAUTHENTICATED,
      details: "the access token is not valid: it is malformed or expired or revoked",
    });
  });

  it("a 10 KB audit target is just a filter that matches nothing", async () => {
    expect(await call("ListAuditEvents", { target: TEN_KB })).toStrictEqual({ ok: true, response: { events: [], next_page_token: "" } });
  });

  it("well-formed ids that do not exist -> NOT_FOUND with the id", async () => {
    const a = await call("RotateClientSecret", { client_id: "no-such-client" });
    expect(a).toMatchObject({ ok: false, code: grpc.status.NOT_FOUND, details: 'client "no-such-client" not found' });
  });

  it("an update_mask path of 60 KB -> INVALID_ARGUMENT with a short message", async () => {
    const c = await server.createClient();
    const a = await call("UpdateClient", { client: { client_id: c.clientId }, update_mask: { paths: ["x".repeat(60_000)] } });
    expectInvalid(a, /^update_mask names "x+…" which cannot be updated/);
  });
});

describe("nothing is half-written", () => {
  it("a create refused for one bad field stores nothing", async () => {
    expectInvalid(await call("CreateClient", { client_id: "half-create", name: "ok", scopes: ["read", "bad scope"] }), SCOPE_TOKEN);
    expect(await call("GetClient", { client_id: "half-create" })).toMatchObject({ ok: false, code: grpc.status.NOT_FOUND });
    const audit = await call<{ events: unknown[] }>("ListAuditEvents", { target: "half-create" });
    expect(audit).toMatchObject({ ok: true, response: { events: [] } });
  });

  it("an update refused for one bad field changes no other field", async () => {
    const c = await server.createClient({ name: "before", scopes: ["read"] });
    const before = await call<{ client: ProtoClient }>("GetClient", { client_id: c.clientId });
    const a = await call("UpdateClient", {
      client: { client_id: c.clientId, name: "after", scopes: ["read", "bad scope"], disabled: true },
      update_mask: { paths: ["name", "disabled", "scopes"] },
    });
    expectInvalid(a, /^client\.scopes contains "bad scope"/);
    expect(await call("GetClient", { client_id: c.clientId })).toStrictEqual(before);
  });
});

describe("concurrency", () => {
  it("20 concurrent creates of one id: exactly one OK, 19 ALREADY_EXISTS, and the stored client is whole", async () => {
    const id = "contended-client";
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call<{ client: ProtoClient; client_secret: string }>("CreateClient", {
          client_id: id,
          name: `creator ${i}`,
          scopes: [`scope-${i}`, "shared"],
          audiences: [`https://api${i}.example`],
          token_ttl: { seconds: 600 + i },
        }),
      ),
    );
    const winners = answers.filter((a) => a.ok);
    const losers = answers.filter((a) => !a.ok);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(19);
    for (const l of losers)
      expect(l).toMatchObject({ ok: false, code: grpc.status.ALREADY_EXISTS, details: `client_id "${id}" is already taken` });

    const won = winners[0]!;
    if (!won.ok) return;
    const i = Number(won.response.client.name.replace("creator ", ""));
    const stored = await call<{ client: ProtoClient }>("GetClient", { client_id: id });
    expect(stored.ok).toBe(true);
    if (!stored.ok) return;
    // Every field from the one winning request, none from the others.
    expect(stored.response.client).toMatchObject({
      client_id: id,
      name: `creator ${i}`,
      scopes: [`scope-${i}`, "shared"],
      audiences: [`https://api${i}.example`],
      token_ttl: { seconds: String(600 + i), nanos: 0 },
      disabled: false,
    });
    expect(stored.response.client.secrets.map((s) => s.secret_id)).toEqual(won.response.client.secrets.map((s) => s.secret_id));
    expect(stored.response.client.secrets).toHaveLength(1);
    // The winner's secret works; one audit event records the one create.
    const t = await grpcCall(tokens, "IssueToken", { client_id: id, client_secret: won.response.client_secret });
    expect(t.ok).toBe(true);
    const audit = await call<{ events: { action: string; changes: { fields: Record<string, { stringValue?: string }> } }[] }>(
      "ListAuditEvents",
      { target: id },
    );
    expect(audit.ok).toBe(true);
    if (audit.ok) {
      expect(audit.response.events.map((e) => e.action)).toEqual(["client.create"]);
      expect(audit.response.events[0]!.changes.fields.name?.stringValue).toBe(`creator ${i}`);
    }
  });

  it("20 concurrent secret rotations with no grace: all succeed and exactly one secret remains usable", async () => {
    const c = await server.createClient();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        call<{ client_secret: string }>("RotateClientSecret", { client_id: c.clientId, grace_period: { seconds: 0 } }),
      ),
    );
    expect(answers.every((a) => a.ok)).toBe(true);
    const secrets = answers.flatMap((a) => (a.ok ? [a.response.client_secret] : []));
    expect(new Set(secrets).size).toBe(20);
    const stored = await call<{ client: ProtoClient }>("GetClient", { client_id: c.clientId });
    expect(stored.ok && stored.response.client.secrets).toHaveLength(1);
    let working = 0;
    for (const s of [c.clientSecret, ...secrets]) {
      if ((await grpcCall(tokens, "IssueToken", { client_id: c.clientId, client_secret: s })).ok) working += 1;
    }
    expect(working).toBe(1);
  });
});

describe("a 1 ms deadline on admin calls", () => {
  it("CreateClient ends OK or DEADLINE_EXCEEDED, never INTERNAL, and leaves a whole client or none (10 tries)", async () => {
    for (let k = 0; k < 10; k++) {
      const id = `deadline-${k}`;
      const a = await call("CreateClient", { client_id: id, name: `deadline ${k}`, scopes: ["read"], token_ttl: { seconds: 60 } }, 1);
      if (!a.ok) expect(a.code).toBe(grpc.status.DEADLINE_EXCEEDED);
      const got = await call<{ client: ProtoClient }>("GetClient", { client_id: id });
      if (got.ok) {
        expect(got.response.client).toMatchObject({ name: `deadline ${k}`, scopes: ["read"], token_ttl: { seconds: "60", nanos: 0 } });
        expect(got.response.client.secrets).toHaveLength(1);
      } else {
        expect(a.ok).toBe(false); // only a call that did not succeed may leave nothing
        expect(got.code).toBe(grpc.status.NOT_FOUND);
      }
    }
    expect((await call("ListClients", { page_size: 1 })).ok).toBe(true);
  });
});

describe("hostile Connect JSON to ClientAdmin", () => {
  const post = async (method: string, body: string) => {
    const res = await fetch(`${server.url}/tessera.v1.ClientAdmin/${method}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...bearer },
      body,
    });
    return { status: res.status, body: (await res.json()) as { code?: string; message?: string } };
  };

  it("a negative Duration string -> 400 invalid_argument naming token_ttl", async () => {
    expect(await post("CreateClient", JSON.stringify({ name: "x", tokenTtl: "-5s" }))).toStrictEqual({
      status: 400,
      body: { code: "invalid_argument", message: TTL_NEGATIVE },
    });
  });

  it("a Duration that is not a duration -> 400 invalid_argument (cannot decode)", async () => {
    const a = await post("CreateClient", JSON.stringify({ name: "x", tokenTtl: "ten minutes" }));
    expect(a.status).toBe(400);
    expect(a.body.code).toBe("invalid_argument");
    expect(a.body.message).toMatch(/^cannot decode/);
  });

  it("a page_size beyond int32 -> 400 invalid_argument (cannot decode), and -1 -> the page_size sentence", async () => {
    const huge = await post("ListClients", JSON.stringify({ pageSize: 1e12 }));
    expect(huge.status).toBe(400);
    expect(huge.body.code).toBe("invalid_argument");
    expect(huge.body.message).toMatch(/^cannot decode field tessera\.v1\.ListClientsRequest\.page_size from JSON/);
    expect(await post("ListClients", JSON.stringify({ pageSize: -1 }))).toStrictEqual({
      status: 400,
      body: { code: "invalid_argument", message: PAGE_SIZE },
    });
  });
});

describe("after all of the above", () => {
  it("the server still serves admin calls and a normal token request", async () => {
    expect((await call("ListClients", { page_size: 10 })).ok).toBe(true);
    const c = await server.createClient({ scopes: ["read"] });
    const t = await grpcCall<{ scope: string }>(tokens, "IssueToken", { client_id: c.clientId, client_secret: c.clientSecret });
    expect(t).toMatchObject({ ok: true, response: { scope: "read" } });
    const res = await fetch(`${server.url}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "client_credentials", client_id: c.clientId, client_secret: c.clientSecret }),
    });
    expect(res.status).toBe(200);
  });
});
