import http2 from "node:http2";
import { fromBinary } from "@bufbuild/protobuf";
import type * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { grpcClient } from "../../helpers/grpc-js.js";
import { basic, startTestServer, type TestServer } from "../../helpers/test-server.js";
import { grpcCall, h2Exchange, header, rawExchange } from "../limits/wire.js";

// RFC 6749 §5.2: error_description = 1*( %x20-21 / %x23-5B / %x5D-7E ). Every refusal the
// OAuth endpoints can give (every parser refusal, every core refusal, every limit) is sent
// to the real server through every door (the form endpoints over HTTP/1.1 and h2c; the
// TokenService over gRPC and Connect, whose messages share the text), with hostile values
// where the caller controls something: quotes, backslashes, percent signs, control
// characters, non-ASCII, long strings. Every answer must carry the expected OAuth error, a
// description inside that grammar, and a plain value must come back as sent, in single quotes.

const DESCRIPTION = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/;
const FORM = "application/x-www-form-urlencoded";
const AUDIENCE = "https://api.example.com";
const AUTH_FAILURE_LIMIT = 3;
const IP_BURST = 30;
const CLIENT_BURST = 5;

let server: TestServer;
let now = Date.parse("2026-11-26T12:00:00Z");
let session: http2.ClientHttp2Session;
let tokens: grpc.Client;
/** scopes read + write, audience AUDIENCE; the client most cases act as. */
let c: { clientId: string; clientSecret: string };
/** Another client, whose tokens `c` may not revoke. */
let other: { clientId: string; clientSecret: string };

beforeAll(async () => {
  server = await startTestServer({
    clock: () => now,
    env: {
      TESSERA_AUTH_FAILURE_LIMIT: String(AUTH_FAILURE_LIMIT),
      TESSERA_AUTH_FAILURE_WINDOW: "60s",
      TESSERA_IP_RPS: "1",
      TESSERA_IP_BURST: String(IP_BURST),
      TESSERA_CLIENT_RPS: "1",
      TESSERA_CLIENT_BURST: String(CLIENT_BURST),
    },
  });
  c = await server.createClient({ scopes: ["read", "write"], audiences: [AUDIENCE] });
  other = await server.createClient({ scopes: ["read"] });
  session = http2.connect(server.url);
  session.on("error", () => {});
  tokens = grpcClient("TokenService", server.port);
});
afterAll(async () => {
  tokens?.close();
  session?.destroy();
  await server?.stop();
});

// ---- What the caller sends ------------------------------------------------------------

/** A request to a form endpoint, byte for byte. */
interface FormRequest {
  method?: string;
  path: string;
  headers: [string, string][];
  body: string | Buffer;
}

/** A TokenService call: the request message (proto field names) and the authorization metadata. */
interface RpcRequest {
  method: "IssueToken" | "RevokeToken" | "IntrospectToken";
  fields: Record<string, string | string[]>;
  authorization?: string;
}

/** A refusal and how to provoke it with the hostile value `v`. */
interface Case {
  name: string;
  /** The OAuth error codes an answer may carry (more than one where `v` decides). */
  errors: string[];
  form?: (v: string) => FormRequest | Promise<FormRequest>;
  rpc?: (v: string) => RpcRequest | Promise<RpcRequest>;
  /** Send the request up to this many times until the first answer with `errors` (throttling). */
  upTo?: number;
  /** Only these doors (headers that HTTP/2 clients cannot repeat). */
  only?: DoorName[];
  /** The part of `v` the description must echo, when `v` is plain text (see `plain`). */
  echoes?: (v: string) => string | undefined;
}

// A lone surrogate has no UTF-8 form: it travels as U+FFFD, as browsers send it. (A protobuf
// string must be UTF-8 too: sent raw, it is refused before any OAuth code runs.)
const wellFormed = (s: string) => Buffer.from(s).toString();
const enc = (s: string) => encodeURIComponent(wellFormed(s));
const form = (pairs: [string, string][]) => pairs.map(([k, v]) => `${enc(k)}=${enc(v)}`).join("&");
const creds = (): [string, string][] => [
  ["client_id", c.clientId],
  ["client_secret", c.clientSecret],
];
const grant: [string, string] = ["grant_type", "client_credentials"];
const post = (body: string | Buffer, headers: [string, string][] = [], path = "/oauth/token"): FormRequest => ({
  path,
  headers: [["content-type", FORM], ...headers],
  body,
});
const rpcCreds = () => ({ client_id: c.clientId, client_secret: c.clientSecret });
const b64 = (s: string | Buffer) => Buffer.from(s).toString("base64");
/** What an HTTP header value can carry (RFC 9110 §5.5: visible ASCII, space, obs-text). */
const headerSafe = (s: string) => [...s].filter((ch) => /^[\x20-\x7E\x80-\xFF]$/.test(ch)).join("");
/** What a gRPC metadata value can carry (printable ASCII). */
const asciiSafe = (s: string) => [...s].filter((ch) => /^[\x20-\x7E]$/.test(ch)).join("");
/** A value the server reads as present. */
const nonEmpty = (v: string) => (v === "" ? "x" : v);
/** A value that is not `avoid`: the hostile value itself unless it happens to be `avoid`. */
const not = (v: string, ...avoid: string[]) => (avoid.includes(v) || v === "" ? `x${v}` : v);
/** Plain text: what must come back exactly as sent inside the quotes. */
const plain = (v: string) => /^[A-Za-z0-9._:/-]{1,40}$/.test(v);

// RFC 6749 §3.3 scope-token; a scope parameter that must be refused whatever `v` is.
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
const badScope = (v: string) => {
  const pieces = v.split(" ").filter((p) => p !== "");
  return pieces.length > 0 && pieces.some((p) => !SCOPE_TOKEN.test(p) || !["read", "write"].includes(p)) ? v : `${v} nope`;
};
/** The scope the refusal names: the first malformed one, else the first one not allowed. */
const firstBadScope = (v: string) => {
  const pieces = badScope(v)
    .split(" ")
    .filter((p) => p !== "");
  return pieces.find((p) => !SCOPE_TOKEN.test(p)) ?? pieces.find((p) => !["read", "write"].includes(p));
};

/** 201 distinct well-formed scopes made from `v`. */
const manyScopes = (v: string) => Array.from({ length: 201 }, (_, i) => `${enc(v).slice(0, 12)}${i}`).join(" ");

/** A fresh token of `other`, which `c` may not revoke. */
async function othersToken(): Promise<string> {
  const res = await fetch(`${server.url}/oauth/token`, {
    method: "POST",
    headers: { "content-type": FORM },
    body: form([grant, ["client_id", other.clientId], ["client_secret", other.clientSecret]]),
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

const CASES: Case[] = [
  // The form body and its headers.
  {
    name: "a content type other than a form",
    errors: ["invalid_request"],
    form: (v) => ({ path: "/oauth/token", headers: [["content-type", `text/${headerSafe(v)}`]], body: form([grant, ...creds()]) }),
  },
  {
    name: "no content type",
    errors: ["invalid_request"],
    form: (v) => ({ path: "/oauth/token", headers: [], body: form([grant, ["scope", v], ...creds()]) }),
  },
  {
    name: "two content-type headers",
    errors: ["invalid_request"],
    only: ["form over HTTP/1.1"],
    form: (v) => post(form([grant, ...creds()]), [["content-type", headerSafe(v)]]),
  },
  {
    name: "two authorization headers",
    errors: ["invalid_request"],
    only: ["form over HTTP/1.1"],
    form: (v) =>
      post(form([grant]), [
        ["authorization", basic(c.clientId, c.clientSecret)],
        ["authorization", headerSafe(v)],
      ]),
  },
  {
    name: "a body over the limit",
    errors: ["invalid_request"],
    form: (v) => post(`${form([grant, ["scope", v], ...creds()])}&x=${"a".repeat(17_000)}`),
  },
  {
    name: "a body that is not UTF-8",
    errors: ["invalid_request"],
    form: (v) => post(Buffer.concat([Buffer.from(form([grant, ["scope", v]])), Buffer.from([0xff])])),
  },
  { name: "a malformed percent escape", errors: ["invalid_request"], form: (v) => post(`${form([grant, ...creds()])}&${enc(v)}=%zz`) },
  {
    name: "a repeated parameter",
    errors: ["invalid_request"],
    form: (v) => post(`${form([grant, ...creds()])}&${enc(not(v, "audience", "resource"))}=1&${enc(not(v, "audience", "resource"))}=2`),
    echoes: (v) => not(v, "audience", "resource"),
  },
  { name: "a repeated grant_type", errors: ["invalid_request"], form: (v) => post(form([grant, ["grant_type", v], ...creds()])) },
  {
    name: "credentials in the query string",
    errors: ["invalid_request"],
    form: (v) => post(form([grant]), [], `/oauth/token?client_id=${enc(v)}`),
  },
  { name: "no grant_type", errors: ["invalid_request"], form: (v) => post(form([...creds(), ["scope", v]])) },
  {
    name: "another grant type",
    errors: ["unsupported_grant_type"],
    form: (v) => post(form([["grant_type", not(v, "client_credentials")], ...creds()])),
  },
  {
    name: "a method other than POST",
    errors: ["invalid_request"],
    form: (v) => ({ ...post(form([grant, ...creds()]), [], `/oauth/token?x=${enc(v)}`), method: "PUT" }),
  },
  // Client authentication.
  {
    name: "an unknown client",
    errors: ["invalid_client"],
    form: (v) => post(form([grant, ["client_id", nonEmpty(v)], ["client_secret", v]])),
    rpc: (v) => ({ method: "IssueToken", fields: { client_id: nonEmpty(v), client_secret: v } }),
  },
  {
    name: "a wrong secret",
    errors: ["invalid_client"],
    form: (v) => post(form([grant, ["client_id", c.clientId], ["client_secret", not(v, c.clientSecret)]])),
    rpc: (v) => ({ method: "IssueToken", fields: { client_id: c.clientId, client_secret: not(v, c.clientSecret) } }),
  },
  {
    name: "Basic credentials of an unknown client",
    errors: ["invalid_client", "invalid_request"],
    form: (v) => post(form([grant]), [["authorization", basic(v, v)]]),
    rpc: (v) => ({ method: "IssueToken", fields: {}, authorization: basic(v, v) }),
  },
  {
    name: "Basic credentials that are not form-encoded",
    errors: ["invalid_client", "invalid_request"],
    form: (v) => post(form([grant]), [["authorization", `Basic ${b64(v)}`]]),
    rpc: (v) => ({ method: "IssueToken", fields: {}, authorization: `Basic ${b64(v)}` }),
  },
  {
    name: "Basic credentials that are not base64",
    errors: ["invalid_request"],
    form: (v) => post(form([grant]), [["authorization", `Basic ${headerSafe(v)}!`]]),
    rpc: (v) => ({ method: "IssueToken", fields: {}, authorization: `Basic ${asciiSafe(v)}!` }),
  },
  {
    name: "another authentication scheme",
    errors: ["invalid_client"],
    form: (v) => post(form([grant]), [["authorization", `Bearer ${headerSafe(v)}`]]),
    rpc: (v) => ({ method: "IssueToken", fields: {}, authorization: `Bearer ${asciiSafe(v)}` }),
  },
  {
    name: "two authentication methods",
    errors: ["invalid_request"],
    form: (v) => post(form([grant, ["client_secret", nonEmpty(v)]]), [["authorization", basic(c.clientId, c.clientSecret)]]),
    rpc: (v) => ({ method: "IssueToken", fields: { client_secret: nonEmpty(v) }, authorization: basic(c.clientId, c.clientSecret) }),
  },
  {
    name: "a client_id that differs from the Basic credentials",
    errors: ["invalid_request"],
    form: (v) => post(form([grant, ["client_id", not(v, c.clientId)]]), [["authorization", basic(c.clientId, c.clientSecret)]]),
    rpc: (v) => ({ method: "IssueToken", fields: { client_id: not(v, c.clientId) }, authorization: basic(c.clientId, c.clientSecret) }),
  },
  // What the client asks for.
  {
    name: "a scope the client may not have, or a malformed one",
    errors: ["invalid_scope"],
    form: (v) => post(form([grant, ...creds(), ["scope", badScope(v)]])),
    rpc: (v) => ({ method: "IssueToken", fields: { ...rpcCreds(), scope: badScope(v) } }),
    echoes: (v) => firstBadScope(v),
  },
  {
    name: "more scopes than allowed",
    errors: ["invalid_scope"],
    form: (v) => post(form([grant, ...creds(), ["scope", manyScopes(v)]])),
    rpc: (v) => ({ method: "IssueToken", fields: { ...rpcCreds(), scope: manyScopes(v) } }),
  },
  {
    name: "an audience the client may not have",
    errors: ["invalid_target"],
    form: (v) => post(form([grant, ...creds(), ["audience", not(v, AUDIENCE)]])),
    rpc: (v) => ({ method: "IssueToken", fields: { ...rpcCreds(), audience: [not(v, AUDIENCE)] } }),
    echoes: (v) => not(v, AUDIENCE),
  },
  {
    name: "an RFC 8707 resource the client may not have",
    errors: ["invalid_target"],
    form: (v) => post(form([grant, ...creds(), ["resource", AUDIENCE], ["resource", not(v, AUDIENCE)]])),
    echoes: (v) => not(v, AUDIENCE),
  },
  // Revocation and introspection.
  {
    name: "revocation without a token",
    errors: ["invalid_request"],
    form: (v) => post(form([...creds(), ["token_type_hint", v]]), [], "/oauth/revoke"),
    rpc: (v) => ({ method: "RevokeToken", fields: { ...rpcCreds(), token_type_hint: v } }),
  },
  {
    name: "revocation of another client's token",
    errors: ["unauthorized_client"],
    form: async (v) => post(form([...creds(), ["token", await othersToken()], ["token_type_hint", v]]), [], "/oauth/revoke"),
    rpc: async (v) => ({ method: "RevokeToken", fields: { ...rpcCreds(), token: await othersToken(), token_type_hint: v } }),
  },
  {
    name: "revocation by an unknown client",
    errors: ["invalid_client"],
    form: (v) =>
      post(
        form([
          ["client_id", nonEmpty(v)],
          ["client_secret", v],
          ["token", v],
        ]),
        [],
        "/oauth/revoke",
      ),
    rpc: (v) => ({ method: "RevokeToken", fields: { client_id: nonEmpty(v), client_secret: v, token: v } }),
  },
  {
    name: "introspection by a client without tessera:introspect",
    errors: ["insufficient_scope"],
    form: (v) => post(form([...creds(), ["token", nonEmpty(v)]]), [], "/oauth/introspect"),
    rpc: (v) => ({ method: "IntrospectToken", fields: { ...rpcCreds(), token: nonEmpty(v) } }),
  },
  {
    name: "introspection with credentials in the query string",
    errors: ["invalid_request"],
    form: (v) => post(form([["token", v]]), [], `/oauth/introspect?client_secret=${enc(v)}`),
  },
  // Limits.
  {
    name: "a client id throttled after failed authentications",
    errors: ["temporarily_unavailable"],
    upTo: AUTH_FAILURE_LIMIT + 1,
    form: (v) => post(form([grant, ["client_id", nonEmpty(v)], ["client_secret", "wrong"]])),
    rpc: (v) => ({ method: "IssueToken", fields: { client_id: nonEmpty(v), client_secret: "wrong" } }),
  },
  {
    name: "a source address over its request rate",
    errors: ["temporarily_unavailable"],
    upTo: IP_BURST + 1,
    form: (v) => post(form([grant, ...creds(), ["scope", v]]), [], "/oauth/introspect"),
    rpc: (v) => ({ method: "IntrospectToken", fields: { ...rpcCreds(), token: v } }),
  },
  {
    name: "a client over its request rate",
    errors: ["temporarily_unavailable"],
    upTo: CLIENT_BURST + 1,
    form: () => post(form([grant, ...creds(), ["scope", "read"]])),
    rpc: () => ({ method: "IssueToken", fields: { ...rpcCreds(), scope: "read" } }),
  },
];

// ---- How the server answers ------------------------------------------------------------

/** One answer, whichever door: the OAuth error code (or undefined on success) and the text. */
interface Answer {
  error: string | undefined;
  description: string | undefined;
  raw: string;
}

/** A success: its text names the answer's fields, never the token, so a failure message shows no credential. */
const issued = (answer: object): Answer => ({
  error: undefined,
  description: undefined,
  raw: `a token was issued (fields ${Object.keys(answer).sort().join(", ")})`,
});

/** Parses an RFC 6749 §5.2 answer: exactly `error` and `error_description`. */
function oauthAnswer(status: number, body: string): Answer {
  if (status === 200) return issued(JSON.parse(body) as object);
  const json = JSON.parse(body) as Record<string, unknown>;
  expect(Object.keys(json).sort(), body).toEqual(["error", "error_description"]);
  return { error: String(json.error), description: String(json.error_description), raw: body };
}

const DOORS = {
  async "form over HTTP/1.1"(r: FormRequest): Promise<Answer> {
    const b = typeof r.body === "string" ? Buffer.from(r.body, "utf8") : r.body;
    const head = [
      `${r.method ?? "POST"} ${r.path} HTTP/1.1`,
      "Host: 127.0.0.1",
      "Connection: close",
      ...r.headers.map(([k, v]) => `${k}: ${v}`),
      `Content-Length: ${b.length}`,
      "",
      "",
    ];
    const a = await rawExchange(server.port, Buffer.concat([Buffer.from(head.join("\r\n"), "latin1"), b]));
    expect(header(a, "content-type")).toBe("application/json;charset=UTF-8");
    return oauthAnswer(a.status, a.body.toString("utf8"));
  },
  async "form over h2c"(r: FormRequest): Promise<Answer> {
    const headers: http2.OutgoingHttpHeaders = { ":method": r.method ?? "POST", ":path": r.path, ...Object.fromEntries(r.headers) };
    const a = await h2Exchange(session, headers, r.body);
    expect(a.error).toBeUndefined();
    return oauthAnswer(a.status ?? 0, a.body);
  },
  async "Connect JSON"(r: RpcRequest): Promise<Answer> {
    const res = await fetch(`${server.url}/tessera.v1.TokenService/${r.method}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(r.authorization ? { authorization: asciiSafe(r.authorization) } : {}) },
      body: JSON.stringify(r.fields),
    });
    const raw = await res.text();
    if (res.status === 200) return issued(JSON.parse(raw) as object);
    const json = JSON.parse(raw) as { message?: string; details?: { type: string; value: string }[] };
    const info = json.details?.find((d) => d.type === "google.rpc.ErrorInfo");
    const reason = info ? fromBinary(ErrorInfoSchema, Buffer.from(info.value, "base64")).reason : undefined;
    return { error: reason, description: json.message, raw };
  },
  async gRPC(r: RpcRequest): Promise<Answer> {
    const a = await grpcCall(
      tokens,
      r.method,
      r.fields,
      r.authorization ? { metadata: { authorization: asciiSafe(r.authorization) } } : {},
    );
    if (a.ok) return issued(a.response);
    return { error: a.reason, description: a.details, raw: JSON.stringify(a) };
  },
};
type DoorName = keyof typeof DOORS;
const FORM_DOORS: DoorName[] = ["form over HTTP/1.1", "form over h2c"];
const RPC_DOORS: DoorName[] = ["Connect JSON", "gRPC"];

/** Every (case, door) pair that exists. */
const PAIRS: [Case, DoorName][] = CASES.flatMap((k) =>
  [...(k.form ? FORM_DOORS : []), ...(k.rpc ? RPC_DOORS : [])]
    .filter((d) => !k.only || k.only.includes(d))
    .map((d): [Case, DoorName] => [k, d]),
);

async function send(k: Case, door: DoorName, v: string): Promise<Answer> {
  if (FORM_DOORS.includes(door)) return (DOORS[door] as (r: FormRequest) => Promise<Answer>)(await k.form!(v));
  return (DOORS[door] as (r: RpcRequest) => Promise<Answer>)(await k.rpc!(wellFormed(v)));
}

// ---- Hostile values ------------------------------------------------------------------------

const hostileUnit = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '"',
      "\\",
      "'",
      "%",
      "%22",
      "§",
      "é",
      "…",
      "\u0000",
      "\n",
      "\r\n",
      "\t",
      "\u007f",
      "\u0085",
      "\u2028",
      "\ufeff",
      "😀",
      "\ud800",
      " ",
      "+",
      "&",
      "=",
      ";",
      "read",
    ),
  },
  { weight: 4, arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 4 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 2 }) },
);
const hostile = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: hostileUnit, maxLength: 12 }) },
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9._:/-]{1,40}$/) },
  { weight: 1, arbitrary: fc.string({ unit: hostileUnit, minLength: 100, maxLength: 300 }) },
);

describe("every OAuth error description stays inside RFC 6749 §5.2", () => {
  it("property: every refusal at every door, with hostile values, has the expected error and a description of %x20-21 / %x23-5B / %x5D-7E only, echoing plain values in single quotes", async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...PAIRS), hostile, async ([k, door], v) => {
        // A new minute for each run: every bucket (address, client, failed authentications) is full again.
        now += 61_000;
        let a: Answer | undefined;
        for (let i = 0; i < (k.upTo ?? 1); i++) {
          a = await send(k, door, v);
          if (a.error !== undefined) {
            expect(a.description, a.raw).toMatch(DESCRIPTION);
            expect(a.description!.length, a.raw).toBeLessThan(200);
          }
          if (a.error !== undefined && k.errors.includes(a.error)) break;
        }
        expect(k.errors, `${k.name} via ${door}: ${a!.raw}`).toContain(a!.error);
        const echoed = k.echoes?.(v);
        if (echoed !== undefined && plain(echoed)) expect(a!.description).toContain(`'${echoed}'`);
        seen.add(`${k.name} via ${door}`);
      }),
      {
        numRuns: 1000,
        // Each pair at least once with a value full of what the grammar forbids, and once plain.
        examples: PAIRS.flatMap((p): [[Case, DoorName], string][] => [
          [p, `"\\§é'%\u0000😀 read`],
          [p, "nope.example-1"],
        ]),
      },
    );
    expect([...seen].sort()).toEqual(PAIRS.map(([k, d]) => `${k.name} via ${d}`).sort());
  }, 300_000);
});
