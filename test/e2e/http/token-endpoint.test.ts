import http2 from "node:http2";
import { calculateJwkThumbprint, decodeProtectedHeader, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashClientSecret } from "../../../src/core/client-secret.js";
import { clientRecord } from "../../helpers/client-record.js";
import { verifyWithJwks } from "../../helpers/jwks.js";
import { basic, startTestServer, type TestServer } from "../../helpers/test-server.js";

// RFC 6749 behaviour of POST /oauth/token and the .well-known documents, driven over real
// sockets (fetch for HTTP/1.1, node:http2 for h2c) against the server `tessera serve` runs.

const FORM = "application/x-www-form-urlencoded";
const API = "https://api.example.com";
const OTHER_API = "https://other.example.com";

let server: TestServer;
let tokenUrl: string;
/** scopes read + write, no audiences, default lifetime. */
let rw: { clientId: string; clientSecret: string };

beforeAll(async () => {
  server = await startTestServer();
  tokenUrl = `${server.url}/oauth/token`;
  rw = await server.createClient({ scopes: ["read", "write"] });
});

afterAll(async () => {
  await server?.stop();
});

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
}

async function answer(res: Response): Promise<Answer> {
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: JSON.parse(text) as Record<string, unknown> };
}

/** POSTs a form to the token endpoint; `form` is sent as-is when it is already a string. */
async function postToken(
  form: string | Record<string, string> | [string, string][],
  headers: Record<string, string> = {},
  url = tokenUrl,
): Promise<Answer> {
  const body = typeof form === "string" ? form : new URLSearchParams(form).toString();
  return answer(await fetch(url, { method: "POST", headers: { "content-type": FORM, ...headers }, body }));
}

/** RFC 6749 §5.1/§5.2: every token endpoint answer is uncacheable JSON. */
function expectTokenEndpointHeaders(h: Headers): void {
  expect(h.get("cache-control")).toBe("no-store");
  expect(h.get("pragma")).toBe("no-cache");
  expect(h.get("content-type")).toMatch(/^application\/json\s*(;|$)/);
}

/** Status, the two-member RFC 6749 §5.2 body, headers; `www-authenticate` only when `basicUsed`. */
function expectOAuthError(a: Answer, status: number, error: string, description: RegExp, basicUsed = false): void {
  expect(a.status).toBe(status);
  expectTokenEndpointHeaders(a.headers);
  expect(a.json).toStrictEqual({ error, error_description: expect.stringMatching(description) });
  if (basicUsed) {
    expect(a.headers.get("www-authenticate")).toBe(`Basic realm="${server.issuer}", charset="UTF-8"`);
  } else {
    expect(a.headers.get("www-authenticate")).toBeNull();
  }
}

/** A 200 token response: exactly the four RFC 6749 §5.1 members, no refresh_token. */
function expectTokenResponse(a: Answer, scope: string, expiresIn = 3600): string {
  expect(a.status).toBe(200);
  expectTokenEndpointHeaders(a.headers);
  expect(a.json).toStrictEqual({ access_token: expect.any(String), token_type: "Bearer", expires_in: expiresIn, scope });
  expect(a.json).not.toHaveProperty("refresh_token");
  return a.json.access_token as string;
}

const creds = (c: { clientId: string; clientSecret: string }) => ({ client_id: c.clientId, client_secret: c.clientSecret });
const b64 = (s: string) => `Basic ${Buffer.from(s, "utf8").toString("base64")}`;
/** Percent-encodes every byte, which a form decoder must undo (RFC 6749 Appendix B). */
const percentAll = (s: string) => [...Buffer.from(s, "utf8")].map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join("");

describe("client_secret_post", () => {
  it("issues a Bearer token with exactly access_token, token_type, expires_in and scope", async () => {
    const a = await postToken({ grant_type: "client_credentials", ...creds(rw), scope: "read write" });
    expectTokenResponse(a, "read write");
  });

  it("the token verifies against /.well-known/jwks.json as an RFC 9068 access token", async () => {
    const token = expectTokenResponse(await postToken({ grant_type: "client_credentials", ...creds(rw), scope: "read" }), "read");
    const { payload, protectedHeader } = await verifyWithJwks(server.url, token, server.issuer);
    expect(protectedHeader.typ).toBe("at+jwt");
    expect(protectedHeader.kid).toEqual(expect.any(String));
    const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
    expect(jwks.keys.map((k) => k.kid)).toContain(protectedHeader.kid);
    expect(payload).toMatchObject({ iss: server.issuer, sub: rw.clientId, client_id: rw.clientId, scope: "read", aud: server.issuer });
    expect(payload.exp! - payload.iat!).toBe(3600);
    expect(payload.jti).toEqual(expect.any(String));
  });

  it("no scope parameter grants every scope the client is allowed (RFC 6749 §3.3)", async () => {
    const a = await postToken({ grant_type: "client_credentials", ...creds(rw) });
    const token = expectTokenResponse(a, "read write");
    expect((await verifyWithJwks(server.url, token, server.issuer)).payload.scope).toBe("read write");
  });

  it("ignores parameters it does not know (RFC 6749 §3.2)", async () => {
    const a = await postToken({ grant_type: "client_credentials", ...creds(rw), scope: "write", state: "xyz", foo: "bar" });
    expectTokenResponse(a, "write");
  });

  it("uses the client's configured token lifetime for expires_in and exp", async () => {
    const short = await server.createClient({ scopes: ["read"], tokenTtlSeconds: 120 });
    const token = expectTokenResponse(await postToken({ grant_type: "client_credentials", ...creds(short) }), "read", 120);
    const { payload } = await verifyWithJwks(server.url, token, server.issuer);
    expect(payload.exp! - payload.iat!).toBe(120);
  });
});

describe("client_secret_basic", () => {
  it("issues a token for RFC 6749 Appendix B Basic credentials", async () => {
    const a = await postToken({ grant_type: "client_credentials", scope: "read" }, { authorization: basic(rw.clientId, rw.clientSecret) });
    const token = expectTokenResponse(a, "read");
    expect((await verifyWithJwks(server.url, token, server.issuer)).payload.sub).toBe(rw.clientId);
  });

  it("accepts a client_id in the body when it matches the Basic credentials", async () => {
    const a = await postToken(
      { grant_type: "client_credentials", client_id: rw.clientId },
      { authorization: basic(rw.clientId, rw.clientSecret) },
    );
    expectTokenResponse(a, "read write");
  });

  it("a client id that needs form-encoding works form-encoded, raw, and fully percent-encoded", async () => {
    const c = await server.createClient({ clientId: "a.b~c-d_e", scopes: ["read"] });
    // basic() form-encodes: "~" becomes "%7E".
    expect(Buffer.from(basic(c.clientId, c.clientSecret).slice(6), "base64").toString()).toMatch(/^a\.b%7Ec-d_e:/);
    for (const authorization of [
      basic(c.clientId, c.clientSecret),
      b64(`${c.clientId}:${c.clientSecret}`),
      b64(`${percentAll(c.clientId)}:${percentAll(c.clientSecret)}`),
    ]) {
      const token = expectTokenResponse(await postToken({ grant_type: "client_credentials" }, { authorization }), "read");
      expect((await verifyWithJwks(server.url, token, server.issuer)).payload.client_id).toBe("a.b~c-d_e");
    }
  });

  it("a secret with ':', '+', '%', space and non-ASCII is form-decoded inside Basic (and works with post)", async () => {
    // Generated secrets are base62; put one with awkward characters straight into storage.
    const secret = "s3:cr+et %41 /é&=ü";
    const now = Date.now();
    await server.running.storage.createClient(
      clientRecord("awkward-secret", {
        name: "awkward secret",
        createTime: now,
        updateTime: now,
        secrets: [{ secretId: "sec_awkward", hash: hashClientSecret(secret), createTime: now, expireTime: null, lastUsedTime: null }],
      }),
    );
    const header = basic("awkward-secret", secret);
    // The colon inside the secret is encoded, so the only raw colon is the separator.
    expect(Buffer.from(header.slice(6), "base64").toString().split(":")).toHaveLength(2);
    expectTokenResponse(await postToken({ grant_type: "client_credentials" }, { authorization: header }), "read");
    expectTokenResponse(await postToken({ grant_type: "client_credentials", client_id: "awkward-secret", client_secret: secret }), "read");
    // Sent raw (not form-encoded), "+" would decode to a space and the secret would not match.
    const raw = await postToken(
      { grant_type: "client_credentials" },
      { authorization: b64(`awkward-secret:${secret.replace("%41", "A")}`) },
    );
    expectOAuthError(raw, 401, "invalid_client", /authentication failed/i, true);
  });
});

describe("invalid_client", () => {
  it("unknown client and wrong secret give byte-identical 401 bodies, with WWW-Authenticate only for Basic", async () => {
    const unknownPost = await postToken({ grant_type: "client_credentials", client_id: "no-such-client", client_secret: rw.clientSecret });
    const wrongPost = await postToken({ grant_type: "client_credentials", client_id: rw.clientId, client_secret: `${rw.clientSecret}x` });
    const unknownBasic = await postToken({ grant_type: "client_credentials" }, { authorization: basic("no-such-client", rw.clientSecret) });
    const wrongBasic = await postToken({ grant_type: "client_credentials" }, { authorization: basic(rw.clientId, "tsec_wrong") });
    for (const a of [unknownPost, wrongPost]) expectOAuthError(a, 401, "invalid_client", /authentication failed/i, false);
    for (const a of [unknownBasic, wrongBasic]) expectOAuthError(a, 401, "invalid_client", /authentication failed/i, true);
    expect(new Set([unknownPost.text, wrongPost.text, unknownBasic.text, wrongBasic.text]).size).toBe(1);
  });

  it("a client_id without a client_secret is invalid_client", async () => {
    expectOAuthError(
      await postToken({ grant_type: "client_credentials", client_id: rw.clientId }),
      401,
      "invalid_client",
      /authentication failed/i,
    );
  });

  it("no client authentication at all is 401 invalid_client", async () => {
    expectOAuthError(await postToken({ grant_type: "client_credentials", scope: "read" }), 401, "invalid_client", /authentication failed/i);
  });

  it("a non-Basic Authorization scheme is invalid_client with a Basic challenge", async () => {
    const a = await postToken({ grant_type: "client_credentials" }, { authorization: "Bearer abc" });
    expectOAuthError(a, 401, "invalid_client", /Basic/, true);
  });

  it("a disabled client is refused with the same body as an unknown one", async () => {
    const c = await server.createClient({ scopes: ["read"] });
    expectTokenResponse(await postToken({ grant_type: "client_credentials", ...creds(c) }), "read");
    await server.running.storage.updateClient(c.clientId, { disabled: true }, Date.now());
    const post = await postToken({ grant_type: "client_credentials", ...creds(c) });
    const viaBasic = await postToken({ grant_type: "client_credentials" }, { authorization: basic(c.clientId, c.clientSecret) });
    expectOAuthError(post, 401, "invalid_client", /authentication failed/i, false);
    expectOAuthError(viaBasic, 401, "invalid_client", /authentication failed/i, true);
    const unknown = await postToken({ grant_type: "client_credentials", client_id: "no-such-client", client_secret: "x" });
    expect(post.text).toBe(unknown.text);
  });
});

describe("invalid_request", () => {
  it("Basic credentials plus client_secret in the body is more than one method (RFC 6749 §2.3)", async () => {
    const a = await postToken({ grant_type: "client_credentials", ...creds(rw) }, { authorization: basic(rw.clientId, rw.clientSecret) });
    expectOAuthError(a, 400, "invalid_request", /more than one client authentication method/);
  });

  it("a client_id in the body that differs from the Basic one is refused", async () => {
    const a = await postToken(
      { grant_type: "client_credentials", client_id: "someone-else" },
      { authorization: basic(rw.clientId, rw.clientSecret) },
    );
    expectOAuthError(a, 400, "invalid_request", /client_id/);
  });

  it.each([
    [
      "scope",
      [
        ["grant_type", "client_credentials"],
        ["scope", "read"],
        ["scope", "write"],
      ],
    ],
    [
      "grant_type",
      [
        ["grant_type", "client_credentials"],
        ["grant_type", "client_credentials"],
      ],
    ],
    [
      "client_secret",
      [
        ["grant_type", "client_credentials"],
        ["client_id", "x"],
        ["client_secret", "a"],
        ["client_secret", "b"],
      ],
    ],
  ] as [string, [string, string][]][])("a repeated %s parameter is refused (RFC 6749 §3.2)", async (name, pairs) => {
    const withCreds = name === "client_secret" ? pairs : [...pairs, ...Object.entries(creds(rw))];
    const a = await postToken(withCreds);
    expectOAuthError(a, 400, "invalid_request", new RegExp(`${name}.*more than once`));
  });

  it("a missing grant_type is invalid_request", async () => {
    expectOAuthError(await postToken({ ...creds(rw), scope: "read" }), 400, "invalid_request", /grant_type.*missing/);
  });

  it("grant_type=password is unsupported_grant_type", async () => {
    const a = await postToken({ grant_type: "password", username: "u", password: "p", ...creds(rw) });
    expectOAuthError(a, 400, "unsupported_grant_type", /client_credentials/);
  });

  it("client credentials in the query string are refused (RFC 6749 §2.3.1)", async () => {
    const secretInQuery = await postToken(
      { grant_type: "client_credentials", client_id: rw.clientId },
      {},
      `${tokenUrl}?client_secret=${encodeURIComponent(rw.clientSecret)}`,
    );
    expectOAuthError(secretInQuery, 400, "invalid_request", /query string/);
    const bothInQuery = await postToken(
      { grant_type: "client_credentials" },
      {},
      `${tokenUrl}?${new URLSearchParams(creds(rw)).toString()}`,
    );
    expectOAuthError(bothInQuery, 400, "invalid_request", /query string/);
  });

  it("a JSON body is refused: the endpoint takes application/x-www-form-urlencoded only", async () => {
    const a = await answer(
      await fetch(tokenUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ grant_type: "client_credentials", ...creds(rw) }),
      }),
    );
    expectOAuthError(a, 400, "invalid_request", /application\/x-www-form-urlencoded/);
  });

  it("a form content type with a charset parameter is accepted", async () => {
    const a = await postToken({ grant_type: "client_credentials", ...creds(rw) }, { "content-type": `${FORM}; charset=UTF-8` });
    expectTokenResponse(a, "read write");
  });

  it.each([
    ["bad base64", "Basic !!!not-base64!!!", /bad base64/],
    ["base64 of the wrong length", "Basic YWJj=", /bad base64/],
    ["no colon", b64("client-without-colon"), /no colon/],
    ["a raw '%' in the secret", b64("client:50%off"), /form-urlencoded/],
    ["a raw '%' in the client id", b64("a%zz:secret"), /form-urlencoded/],
    ["an empty client id", b64(":secret"), /empty client id/],
  ])("malformed Basic credentials (%s) are invalid_request", async (_what, authorization, description) => {
    const a = await postToken({ grant_type: "client_credentials" }, { authorization });
    expectOAuthError(a, 400, "invalid_request", description);
  });
});

describe("scope and audience", () => {
  let aud: { clientId: string; clientSecret: string };
  beforeAll(async () => {
    aud = await server.createClient({ scopes: ["read", "write"], audiences: [API, OTHER_API] });
  });

  it("a subset of the allowed scopes is granted as requested", async () => {
    expectTokenResponse(await postToken({ grant_type: "client_credentials", ...creds(rw), scope: "write" }), "write");
  });

  it("a scope that is not allowed is invalid_scope, never silently narrowed", async () => {
    const a = await postToken({ grant_type: "client_credentials", ...creds(rw), scope: "read admin" });
    expectOAuthError(a, 400, "invalid_scope", /'admin' is not allowed/);
  });

  it("a malformed scope token is invalid_scope", async () => {
    const a = await postToken({ grant_type: "client_credentials", ...creds(rw), scope: 'read "quoted"' });
    expectOAuthError(a, 400, "invalid_scope", /^The scope '%22quoted%22' is malformed/);
  });

  it.each(["audience", "resource"])("an allowed %s becomes the aud claim", async (param) => {
    const token = expectTokenResponse(await postToken({ grant_type: "client_credentials", ...creds(aud), [param]: API }), "read write");
    const { payload } = await verifyWithJwks(server.url, token, server.issuer, API);
    expect(payload.aud).toBe(API);
  });

  it("audience may be repeated (and mixed with resource, RFC 8707 §2)", async () => {
    const repeated = await postToken([
      ["grant_type", "client_credentials"],
      ...Object.entries(creds(aud)),
      ["audience", API],
      ["audience", OTHER_API],
    ]);
    const mixed = await postToken([
      ["grant_type", "client_credentials"],
      ...Object.entries(creds(aud)),
      ["resource", OTHER_API],
      ["audience", API],
    ]);
    for (const a of [repeated, mixed]) {
      const { payload } = await verifyWithJwks(server.url, expectTokenResponse(a, "read write"), server.issuer);
      expect([...(payload.aud as string[])].sort()).toEqual([API, OTHER_API]);
    }
  });

  it("no audience requested gives the client's audiences, or the issuer when it has none", async () => {
    const withAud = await verifyWithJwks(
      server.url,
      expectTokenResponse(await postToken({ grant_type: "client_credentials", ...creds(aud) }), "read write"),
      server.issuer,
    );
    expect(withAud.payload.aud).toEqual([API, OTHER_API]);
    const without = await verifyWithJwks(
      server.url,
      expectTokenResponse(await postToken({ grant_type: "client_credentials", ...creds(rw) }), "read write"),
      server.issuer,
    );
    expect(without.payload.aud).toBe(server.issuer);
  });

  it.each(["audience", "resource"])("a %s the client may not use is invalid_target (RFC 8707)", async (param) => {
    const a = await postToken({ grant_type: "client_credentials", ...creds(aud), [param]: "https://evil.example.com" });
    expectOAuthError(a, 400, "invalid_target", /evil\.example\.com.*not allowed/);
    const b = await postToken([
      ["grant_type", "client_credentials"],
      ...Object.entries(creds(aud)),
      [param, API],
      [param, "https://evil.example.com"],
    ]);
    expectOAuthError(b, 400, "invalid_target", /not allowed/);
  });
});

describe("methods and limits", () => {
  it.each(["GET", "PUT", "DELETE"])("%s /oauth/token is 405 with Allow: POST", async (method) => {
    const a = await answer(
      await fetch(tokenUrl, {
        method,
        ...(method === "GET" ? {} : { headers: { "content-type": FORM }, body: "grant_type=client_credentials" }),
      }),
    );
    expect(a.status).toBe(405);
    expect(a.headers.get("allow")).toBe("POST");
    expectTokenEndpointHeaders(a.headers);
    expect(a.json).toStrictEqual({ error: "invalid_request", error_description: expect.stringMatching(new RegExp(`${method}.*POST`)) });
  });

  it("POST to a .well-known document is 405 with Allow: GET, HEAD", async () => {
    const res = await fetch(`${server.url}/.well-known/jwks.json`, { method: "POST", headers: { "content-type": FORM }, body: "x=1" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
    expect(await res.json()).toStrictEqual({ error: "invalid_request", error_description: expect.stringMatching(/POST.*GET or HEAD/) });
  });

  it("a 1 MB body (declared by Content-Length) is 413 without being read", async () => {
    const body = `grant_type=client_credentials&padding=${"a".repeat(1 << 20)}`;
    const a = await postToken(body);
    expectOAuthError(a, 413, "invalid_request", /larger than 16384 bytes/);
    // The connection is dropped rather than drained.
    expect(a.headers.get("connection")).toBe("close");
  });

  it("a 1 MB chunked body (no Content-Length) is 413 once the limit is crossed", async () => {
    const chunk = new Uint8Array(16 * 1024).fill(0x61);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("grant_type=client_credentials&padding="));
        for (let i = 0; i < 64; i++) controller.enqueue(chunk);
        controller.close();
      },
    });
    const res = await fetch(tokenUrl, { method: "POST", headers: { "content-type": FORM }, body, duplex: "half" } as RequestInit);
    expectOAuthError(await answer(res), 413, "invalid_request", /larger than 16384 bytes/);
  });

  it("the server still answers normally after refusing large bodies", async () => {
    expectTokenResponse(await postToken({ grant_type: "client_credentials", ...creds(rw) }), "read write");
  });
});

describe(".well-known documents", () => {
  it("oauth-authorization-server is the RFC 8414 metadata", async () => {
    const res = await fetch(`${server.url}/.well-known/oauth-authorization-server`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const m = (await res.json()) as Record<string, unknown>;
    expect(m).toMatchObject({
      issuer: server.issuer,
      token_endpoint: `${server.issuer}/oauth/token`,
      jwks_uri: `${server.issuer}/.well-known/jwks.json`,
      grant_types_supported: ["client_credentials"],
      response_types_supported: [],
    });
    expect(m.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(["client_secret_basic", "client_secret_post"]));
  });

  it("jwks.json publishes public members only, with kid = RFC 7638 thumbprint", async () => {
    const res = await fetch(`${server.url}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const { keys } = (await res.json()) as { keys: JWK[] };
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) {
      for (const secret of ["d", "p", "q", "dp", "dq", "qi", "k", "oth"]) expect(k).not.toHaveProperty(secret);
      expect(k.use).toBe("sig");
      expect(k.alg).toBe("ES256");
      expect(k.kid).toBe(await calculateJwkThumbprint(k, "sha256"));
    }
    // The key that signs tokens is one of them.
    const token = expectTokenResponse(await postToken({ grant_type: "client_credentials", ...creds(rw) }), "read write");
    expect(keys.map((k) => k.kid)).toContain(decodeProtectedHeader(token).kid);
  });
});

describe("HTTP/2 cleartext (prior knowledge) on the same port", () => {
  interface H2Answer {
    status: number;
    headers: http2.IncomingHttpHeaders;
    json: Record<string, unknown>;
  }

  function h2Post(session: http2.ClientHttp2Session, body: string | Buffer, headers: Record<string, string> = {}): Promise<H2Answer> {
    return new Promise((resolve, reject) => {
      const req = session.request({ ":method": "POST", ":path": "/oauth/token", "content-type": FORM, ...headers });
      let head: http2.IncomingHttpHeaders = {};
      let text = "";
      req.setEncoding("utf8");
      req.on("response", (h) => (head = h));
      req.on("data", (d: string) => (text += d));
      req.on("end", () => {
        try {
          resolve({ status: Number(head[":status"]), headers: head, json: JSON.parse(text) as Record<string, unknown> });
        } catch (err) {
          reject(err);
        }
      });
      req.on("error", reject);
      req.end(body);
    });
  }

  let session: http2.ClientHttp2Session;
  beforeAll(async () => {
    session = http2.connect(server.url); // http: scheme = h2c with prior knowledge
    await new Promise<void>((resolve, reject) => {
      session.once("connect", () => resolve());
      session.once("error", reject);
    });
  });
  afterAll(() => {
    session?.destroy();
  });

  function expectH2Headers(h: http2.IncomingHttpHeaders): void {
    expect(h["cache-control"]).toBe("no-store");
    expect(h.pragma).toBe("no-cache");
    expect(h["content-type"]).toMatch(/^application\/json/);
  }

  it("issues a verifiable token over h2c with Basic credentials", async () => {
    const a = await h2Post(session, "grant_type=client_credentials&scope=read", { authorization: basic(rw.clientId, rw.clientSecret) });
    expect(a.status).toBe(200);
    expectH2Headers(a.headers);
    expect(a.json).toStrictEqual({ access_token: expect.any(String), token_type: "Bearer", expires_in: 3600, scope: "read" });
    const { payload } = await verifyWithJwks(server.url, a.json.access_token as string, server.issuer);
    expect(payload).toMatchObject({ sub: rw.clientId, client_id: rw.clientId, scope: "read" });
  });

  it("issues a token over h2c with client_secret_post", async () => {
    const a = await h2Post(session, new URLSearchParams({ grant_type: "client_credentials", ...creds(rw) }).toString());
    expect(a.status).toBe(200);
    expect(a.json.scope).toBe("read write");
  });

  it("maps errors the same way over h2c (401 + WWW-Authenticate for Basic)", async () => {
    const a = await h2Post(session, "grant_type=client_credentials", { authorization: basic(rw.clientId, "tsec_wrong") });
    expect(a.status).toBe(401);
    expectH2Headers(a.headers);
    expect(a.headers["www-authenticate"]).toBe(`Basic realm="${server.issuer}", charset="UTF-8"`);
    expect(a.json).toStrictEqual({ error: "invalid_client", error_description: "Client authentication failed" });
  });

  it("refuses a 1 MB body over h2c with 413, and the session keeps working", async () => {
    const big = Buffer.concat([Buffer.from("grant_type=client_credentials&padding="), Buffer.alloc(1 << 20, 0x61)]);
    const a = await h2Post(session, big, { "content-length": String(big.length) });
    expect(a.status).toBe(413);
    expectH2Headers(a.headers);
    expect(a.json).toStrictEqual({ error: "invalid_request", error_description: expect.stringMatching(/larger than 16384 bytes/) });
    // The unread body must not leave the connection-level flow-control window exhausted.
    const next = await h2Post(session, new URLSearchParams({ grant_type: "client_credentials", ...creds(rw) }).toString());
    expect(next.status).toBe(200);
  });
});
