import http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basic, startTestServer, type TestServer } from "../../helpers/test-server.js";
import { formPost, h2Exchange, header, rawExchange, rawPost } from "../limits/wire.js";

// Hostile input at the form door (POST /oauth/token), byte for byte over HTTP/1.1 (raw TCP)
// and over h2c: every request gets its exact status and RFC 6749 §5.2 error, never a 5xx, a
// hang or a crash, and the server still issues tokens afterwards.
// The failure throttle is off here (tested in test/e2e/limits), and the body limit is 256 KB
// so that 10,000-item bodies reach the parser instead of the 413.

const FORM = "application/x-www-form-urlencoded";
const CHALLENGE = 'Basic realm="http://tessera.test", charset="UTF-8"';

let server: TestServer;
let session: http2.ClientHttp2Session;
/** scopes read + write, audience https://api.example.com */
let c: { clientId: string; clientSecret: string };

beforeAll(async () => {
  server = await startTestServer({ env: { TESSERA_AUTH_FAILURE_LIMIT: "0", TESSERA_MAX_BODY_BYTES: "262144" } });
  c = await server.createClient({ scopes: ["read", "write"], audiences: ["https://api.example.com"] });
  session = http2.connect(server.url);
  session.on("error", () => {});
});
afterAll(async () => {
  session?.destroy();
  await server?.stop();
});

/** One hostile request: path (with query), headers (content-type included), raw body. */
interface Hostile {
  path?: string;
  headers: Record<string, string>;
  body: string | Buffer;
}

/** The expected answer: a token (200) or an exact OAuth error. */
type Expected = { status: 200 } | { status: number; error: string; description: string | RegExp; challenge?: boolean };

/** A uniform answer from either door. */
interface Answer {
  status: number;
  headers: Record<string, string | undefined>;
  body: string;
}

async function viaHttp1(h: Hostile): Promise<Answer> {
  const lines = Object.entries(h.headers).map(([k, v]) => `${k}: ${v}`);
  const a = await rawExchange(server.port, rawPost(h.body, lines, h.path));
  expect(a.closed).toBe(true); // Connection: close was asked for; nothing may hang
  const get = (n: string) => header(a, n);
  return {
    status: a.status,
    headers: {
      "content-type": get("content-type"),
      "cache-control": get("cache-control"),
      pragma: get("pragma"),
      "www-authenticate": get("www-authenticate"),
    },
    body: a.body.toString("utf8"),
  };
}

async function viaH2(h: Hostile): Promise<Answer> {
  const a = await h2Exchange(session, { ":method": "POST", ":path": h.path ?? "/oauth/token", ...h.headers }, h.body);
  expect(a.error).toBeUndefined();
  const get = (n: string) => (a.headers[n] === undefined ? undefined : String(a.headers[n]));
  return {
    status: a.status ?? 0,
    headers: {
      "content-type": get("content-type"),
      "cache-control": get("cache-control"),
      pragma: get("pragma"),
      "www-authenticate": get("www-authenticate"),
    },
    body: a.body,
  };
}

function expectAnswer(a: Answer, e: Expected): void {
  expect(a.status).toBe(e.status);
  expect(a.headers["content-type"]).toBe("application/json;charset=UTF-8");
  expect(a.headers["cache-control"]).toBe("no-store");
  expect(a.headers.pragma).toBe("no-cache");
  const json = JSON.parse(a.body) as Record<string, unknown>;
  if (!("error" in e)) {
    expect(json).toMatchObject({ access_token: expect.any(String), token_type: "Bearer" });
    return;
  }
  expect(Object.keys(json).sort()).toEqual(["error", "error_description"]);
  expect(json.error).toBe(e.error);
  if (typeof e.description === "string") expect(json.error_description).toBe(e.description);
  else expect(json.error_description).toMatch(e.description);
  // Never echo a huge input back.
  expect((json.error_description as string).length).toBeLessThan(200);
  expect(a.headers["www-authenticate"]).toBe(e.challenge ? CHALLENGE : undefined);
}

const form = (pairs: Record<string, string> | [string, string][]) => new URLSearchParams(pairs).toString();
const post = (body: string | Buffer, extra: Record<string, string> = {}, path?: string): Hostile => ({
  headers: { "content-type": FORM, ...extra },
  body,
  ...(path ? { path } : {}),
});
const good = () => ({ grant_type: "client_credentials", client_id: c.clientId, client_secret: c.clientSecret });
const b64 = (s: string | Buffer) => Buffer.from(s).toString("base64");
const TEN_KB = "a".repeat(10_240);

const INVALID_CLIENT = { status: 401, error: "invalid_client", description: "Client authentication failed" };
const NOT_FORM = { status: 400, error: "invalid_request", description: "The request body must be application/x-www-form-urlencoded" };
const NOT_UTF8 = { status: 400, error: "invalid_request", description: "The request body is not valid UTF-8" };
const BAD_ESCAPE = {
  status: 400,
  error: "invalid_request",
  description: "The form body has a malformed percent escape or one that is not UTF-8",
};
const BAD_BASIC_ESCAPE = {
  status: 400,
  error: "invalid_request",
  description: "The Basic credentials are not form-urlencoded UTF-8 (RFC 6749 Appendix B): a '%' escape is malformed or not UTF-8",
};
const repeated = (name: string) => ({
  status: 400,
  error: "invalid_request",
  description: `The parameter '${name}' is included more than once (RFC 6749 section 3.2)`,
});
const malformedScope = (shown: string) => ({
  status: 400,
  error: "invalid_scope",
  description: `The scope ${shown} is malformed: a scope is printable ASCII without double quote or backslash, at most 200 characters`,
});

/** Every hostile request and its one right answer; built lazily (they need the client). */
const CASES: [string, () => Hostile, Expected][] = [
  // Wrong content types and bodies.
  ["text/plain", () => post(form(good()), { "content-type": "text/plain" }), NOT_FORM],
  ["a JSON body", () => post(JSON.stringify(good()), { "content-type": "application/json" }), NOT_FORM],
  [
    "a multipart body",
    () =>
      post(`--x\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\nclient_credentials\r\n--x--\r\n`, {
        "content-type": "multipart/form-data; boundary=x",
      }),
    NOT_FORM,
  ],
  ["no content type", () => ({ headers: {}, body: form(good()) }), NOT_FORM],
  [
    "a content type that only starts like a form",
    () => post(form(good()), { "content-type": "application/x-www-form-urlencodedx" }),
    NOT_FORM,
  ],
  [
    "the form type in capitals with a charset (allowed)",
    () => post(form(good()), { "content-type": "APPLICATION/X-WWW-FORM-URLENCODED; charset=UTF-8" }),
    { status: 200 },
  ],
  // Malformed Basic.
  [
    "Basic with bad base64",
    () => post("grant_type=client_credentials", { authorization: "Basic !!!!" }),
    {
      status: 400,
      error: "invalid_request",
      description: "The Authorization header is not valid Basic credentials (bad base64)",
    },
  ],
  [
    "Basic without a colon",
    () => post("grant_type=client_credentials", { authorization: `Basic ${b64(c.clientId)}` }),
    {
      status: 400,
      error: "invalid_request",
      description: "The Authorization header is not valid Basic credentials (no colon)",
    },
  ],
  [
    "Basic with a raw %",
    () => post("grant_type=client_credentials", { authorization: `Basic ${b64(`${c.clientId}:100%`)}` }),
    BAD_BASIC_ESCAPE,
  ],
  [
    "Basic with a %FF escape",
    () => post("grant_type=client_credentials", { authorization: `Basic ${b64("%FF:secret")}` }),
    BAD_BASIC_ESCAPE,
  ],
  [
    "Basic with an empty id",
    () => post("grant_type=client_credentials", { authorization: `Basic ${b64(":secret")}` }),
    {
      status: 400,
      error: "invalid_request",
      description: "The Basic credentials have an empty client id",
    },
  ],
  [
    "another scheme (Bearer)",
    () => post("grant_type=client_credentials", { authorization: "Bearer abc" }),
    {
      status: 401,
      error: "invalid_client",
      description: "Only Basic client authentication is supported in the Authorization header",
      challenge: true,
    },
  ],
  [
    "the Basic scheme with no credentials",
    () => post("grant_type=client_credentials", { authorization: "Basic" }),
    {
      status: 401,
      error: "invalid_client",
      description: "Only Basic client authentication is supported in the Authorization header",
      challenge: true,
    },
  ],
  // NUL and control characters.
  ["a NUL in the client id", () => post(form({ ...good(), client_id: `\u0000${c.clientId}` })), INVALID_CLIENT],
  [
    "raw control bytes in the client id",
    () => post(`grant_type=client_credentials&client_id=\u0001\u007f&client_secret=x`),
    INVALID_CLIENT,
  ],
  ["a NUL in the scope", () => post(form({ ...good(), scope: "read\u0000" })), malformedScope("'read%00'")],
  [
    "a NUL after the grant type",
    () => post(form({ ...good(), grant_type: "client_credentials\u0000" })),
    {
      status: 400,
      error: "unsupported_grant_type",
      description: "Only the client_credentials grant type is supported",
    },
  ],
  [
    "a newline in the audience",
    () => post(form({ ...good(), audience: "\nhttps://api.example.com" })),
    {
      status: 400,
      error: "invalid_target",
      description: "The audience '%0Ahttps://api.example.com' is not allowed for this client",
    },
  ],
  // 10 KB identifiers.
  ["a 10 KB client id", () => post(form({ ...good(), client_id: TEN_KB })), INVALID_CLIENT],
  [
    "a 10 KB client id in Basic",
    () => post("grant_type=client_credentials", { authorization: basic(TEN_KB, "x") }),
    { ...INVALID_CLIENT, challenge: true },
  ],
  ["a 10 KB secret", () => post(form({ ...good(), client_secret: TEN_KB })), INVALID_CLIENT],
  ["a 10 KB scope token", () => post(form({ ...good(), scope: TEN_KB })), malformedScope(`'${"a".repeat(40)}...'`)],
  [
    "a 10 KB audience",
    () => post(form({ ...good(), audience: TEN_KB })),
    {
      status: 400,
      error: "invalid_target",
      description: `The audience '${"a".repeat(40)}...' is not allowed for this client`,
    },
  ],
  [
    "a 10 KB grant type",
    () => post(form({ ...good(), grant_type: TEN_KB })),
    {
      status: 400,
      error: "unsupported_grant_type",
      description: "Only the client_credentials grant type is supported",
    },
  ],
  ["a 10 KB unknown parameter (ignored)", () => post(form({ ...good(), [TEN_KB]: TEN_KB })), { status: 200 }],
  // 10,000 of something.
  [
    "10,000 scopes",
    () => post(form({ ...good(), scope: Array.from({ length: 10_000 }, (_, i) => `s${i}`).join(" ") })),
    {
      status: 400,
      error: "invalid_scope",
      description: "At most 200 scopes may be requested",
    },
  ],
  [
    "10,000 audience parameters",
    () => post(form([...Object.entries(good()), ...Array.from({ length: 10_000 }, (_, i): [string, string] => ["audience", `a${i}`])])),
    {
      status: 400,
      error: "invalid_target",
      description: "The audience 'a0' is not allowed for this client",
    },
  ],
  [
    "10,000 unknown parameters (ignored)",
    () => post(form([...Object.entries(good()), ...Array.from({ length: 10_000 }, (_, i): [string, string] => [`x${i}`, "1"])])),
    { status: 200 },
  ],
  ["10,000 empty pairs (&&&…)", () => post("&".repeat(10_000) + form(good()) + "&".repeat(10_000)), { status: 200 }],
  // Duplicate and misplaced parameters.
  ["grant_type twice", () => post(`${form(good())}&grant_type=client_credentials`), repeated("grant_type")],
  ["client_id twice", () => post(`${form(good())}&client_id=${c.clientId}`), repeated("client_id")],
  ["client_secret twice", () => post(`${form(good())}&client_secret=x`), repeated("client_secret")],
  ["scope twice", () => post(`${form(good())}&scope=read&scope=write`), repeated("scope")],
  [
    "a 10 KB parameter name twice",
    () => post(`${form(good())}&${TEN_KB}=1&${TEN_KB}=2`),
    {
      status: 400,
      error: "invalid_request",
      description: `The parameter '${"a".repeat(40)}...' is included more than once (RFC 6749 section 3.2)`,
    },
  ],
  [
    "Basic and client_secret together",
    () => post(form(good()), { authorization: basic(c.clientId, c.clientSecret) }),
    {
      status: 400,
      error: "invalid_request",
      description: "The request uses more than one client authentication method (RFC 6749 section 2.3)",
    },
  ],
  [
    "Basic and a different client_id",
    () => post(form({ grant_type: "client_credentials", client_id: "someone-else" }), { authorization: basic(c.clientId, c.clientSecret) }),
    {
      status: 400,
      error: "invalid_request",
      description: "The client_id parameter does not match the Basic credentials",
    },
  ],
  [
    "credentials in the query string",
    () => post("grant_type=client_credentials", {}, `/oauth/token?client_id=${c.clientId}&client_secret=${c.clientSecret}`),
    {
      status: 400,
      error: "invalid_request",
      description: "Client credentials must not be sent in the query string (RFC 6749 section 2.3.1)",
    },
  ],
  [
    "no grant_type",
    () => post(form({ client_id: c.clientId, client_secret: c.clientSecret })),
    {
      status: 400,
      error: "invalid_request",
      description: "The grant_type parameter is missing",
    },
  ],
  ["an empty body", () => post(""), { status: 400, error: "invalid_request", description: "The grant_type parameter is missing" }],
  [
    "grant_type=password",
    () => post(form({ ...good(), grant_type: "password" })),
    {
      status: 400,
      error: "unsupported_grant_type",
      description: "Only the client_credentials grant type is supported",
    },
  ],
  // Invalid UTF-8, raw and escaped.
  ["a raw 0xFF byte", () => post(Buffer.concat([Buffer.from(`${form(good())}&scope=read`), Buffer.from([0xff])])), NOT_UTF8],
  ["a raw overlong encoding (C0 AF)", () => post(Buffer.concat([Buffer.from(`${form(good())}&x=`), Buffer.from([0xc0, 0xaf])])), NOT_UTF8],
  [
    "a raw UTF-8-encoded surrogate (ED A0 80)",
    () => post(Buffer.concat([Buffer.from(`${form(good())}&x=`), Buffer.from([0xed, 0xa0, 0x80])])),
    NOT_UTF8,
  ],
  [
    "a raw truncated sequence at the end (E2 82)",
    () => post(Buffer.concat([Buffer.from(`${form(good())}&x=`), Buffer.from([0xe2, 0x82])])),
    NOT_UTF8,
  ],
  ["a %FF escape", () => post(`${form(good())}&scope=%FF`), BAD_ESCAPE],
  ["a %C0%AF overlong escape", () => post(`${form(good())}&x=%C0%AF`), BAD_ESCAPE],
  ["a %ED%A0%80 surrogate escape", () => post(`${form(good())}&x=%ED%A0%80`), BAD_ESCAPE],
  ["a truncated %E2%82 escape", () => post(`${form(good())}&x=%E2%82`), BAD_ESCAPE],
  ["a lone %", () => post(`${form(good())}&x=%`), BAD_ESCAPE],
  ["a %zz escape in a parameter name", () => post(`${form(good())}&%zz=1`), BAD_ESCAPE],
  // The strict UTF-8 decoder drops a leading byte-order mark, so the form reads as sent.
  [
    "a UTF-8 byte-order mark before the form",
    () => post(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(form(good()))])),
    { status: 200 },
  ],
];

for (const [door, send] of [
  ["HTTP/1.1", viaHttp1],
  ["h2c", viaH2],
] as const) {
  describe(`hostile token requests over ${door}`, () => {
    for (const [name, make, expected] of CASES) {
      it(`${name} -> ${expected.status}${"error" in expected ? ` ${expected.error}` : ""}`, async () => {
        expectAnswer(await send(make()), expected);
      });
    }
  });
}

describe("hostile HTTP/1.1 framing (refused by the HTTP parser before any handler)", () => {
  const framing: [string, string][] = [
    ["a NUL in a header value", `POST /oauth/token HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\nContent-Length: 0\r\n\r\n`],
    ["a bare CR in a header value", `POST /oauth/token HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n`],
    ["a space in a header name", `POST /oauth/token HTTP/1.1\r\nHost: x\r\nX A: b\r\nContent-Length: 0\r\n\r\n`],
    [
      "two different Content-Lengths",
      `POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: ${FORM}\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef`,
    ],
    [
      "Content-Length with Transfer-Encoding (smuggling)",
      `POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: ${FORM}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    ],
    ["a negative Content-Length", `POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: ${FORM}\r\nContent-Length: -1\r\n\r\n`],
    ["an unknown method", `FOO /oauth/token HTTP/1.1\r\nHost: x\r\n\r\n`],
    ["TLS bytes on the cleartext port", "\u0016\u0003\u0001\u0000\u00a5\u0001\u0000\u0000\u00a1\u0003\u0003\r\n\r\n"],
  ];
  for (const [name, bytes] of framing) {
    it(`${name} -> 400 and the connection is closed`, async () => {
      const a = await rawExchange(server.port, bytes);
      expect(a.status).toBe(400);
      expect(a.closed).toBe(true);
    });
  }
});

describe("duplicate headers over HTTP/1.1", () => {
  it("refuses two Authorization headers with 400 invalid_request", async () => {
    const a = await viaHttp1(
      post("grant_type=client_credentials", { authorization: basic(c.clientId, c.clientSecret), Authorization: "Basic !!!!" }),
    );
    expect(a.status).toBe(400);
    expect(JSON.parse(a.body)).toMatchObject({ error: "invalid_request" });
  });

  it("refuses two Content-Type headers with 400 invalid_request", async () => {
    const a = await viaHttp1(post(form(good()), { "Content-Type": "text/plain" }));
    expect(a.status).toBe(400);
    expect(JSON.parse(a.body)).toMatchObject({ error: "invalid_request" });
  });
});

describe("other hostile requests", () => {
  it.each([
    ["GET", 405],
    ["PUT", 405],
    ["DELETE", 405],
  ])("%s /oauth/token -> %d with Allow: POST", async (method, status) => {
    const res = await fetch(`${server.url}/oauth/token`, { method });
    expect(res.status).toBe(status);
    expect(res.headers.get("allow")).toBe("POST");
    expect(await res.json()).toStrictEqual({ error: "invalid_request", error_description: `Method ${method} is not allowed; use POST` });
  });

  it.each(["/oauth/token/", "/OAUTH/TOKEN", "//oauth/token", "/oauth/token/../token", "/%6Fauth/token"])(
    "POST %s -> 404 not_found",
    async (path) => {
      const a = await rawExchange(server.port, rawPost(form(good()), [`Content-Type: ${FORM}`], path));
      expect(a.status).toBe(404);
      expect(JSON.parse(a.body.toString())).toStrictEqual({ error: "not_found", error_description: "No such endpoint" });
    },
  );

  it("revocation and introspection answer a 10 KB garbage token plainly: 200 {} and {active:false}", async () => {
    const rs = await server.createClient({ scopes: ["tessera:introspect"] });
    const garbage = `\u0000.${TEN_KB}.%`;
    const rev = await formPost(`${server.url}/oauth/revoke`, { token: garbage, client_id: c.clientId, client_secret: c.clientSecret });
    expect(rev.status).toBe(200);
    expect(rev.json).toStrictEqual({});
    const intro = await formPost(`${server.url}/oauth/introspect`, {
      token: garbage,
      client_id: rs.clientId,
      client_secret: rs.clientSecret,
    });
    expect(intro.status).toBe(200);
    expect(intro.json).toStrictEqual({ active: false });
  });
});

describe("after all of the above", () => {
  it("the server still issues a normal token over HTTP/1.1 and h2", async () => {
    const a = await formPost(`${server.url}/oauth/token`, good());
    expect(a.status).toBe(200);
    expect(a.json).toMatchObject({ token_type: "Bearer", expires_in: 3600, scope: "read write" });
    expectAnswer(await viaH2(post(form(good()))), { status: 200 });
  });
});
