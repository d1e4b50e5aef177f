import { randomUUID } from "node:crypto";
import { base64url, decodeJwt, SignJWT } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ClientAdminCore } from "../../../src/core/client-admin.js";
import { ClientCredentialAdmin } from "../../../src/core/client-credential-admin.js";
import { verifyWithJwks } from "../../helpers/jwks.js";
import { clientAssertion, type KeyIssuer, newKey, startKeyIssuer, type TestKey } from "../../helpers/key-issuer.js";
import { basic, startTestServer, type TestServer } from "../../helpers/test-server.js";

// private_key_jwt (RFC 7523 §2.2 and §3, with draft-ietf-oauth-rfc7523bis) against the real
// server over HTTP: a client's keys registered or published at a jwks_uri served on loopback,
// keys made in the test, and every refusal with its exact OAuth answer.

const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

let server: TestServer;
let admin: ClientAdminCore;
let credentials: ClientCredentialAdmin;
let es256: TestKey;
let rs256: TestKey;
let eddsa: TestKey;
let published: KeyIssuer;

beforeAll(async () => {
  server = await startTestServer({ env: { TESSERA_ALLOW_INSECURE_JWKS_URI_LOOPBACK: "true" } });
  admin = new ClientAdminCore(server.running.storage, Date.now, { allowHttpLoopback: true });
  credentials = new ClientCredentialAdmin(server.running.storage, Date.now, server.issuer, true);
  [es256, rs256, eddsa] = await Promise.all([newKey("ES256"), newKey("RS256"), newKey("EdDSA")]);
  published = await startKeyIssuer({ keys: [rs256], jwksPath: "/client/jwks.json" });
});

afterAll(async () => {
  await server?.stop();
  await published?.close();
});

/** A client registered for private_key_jwt holding `keys` (or publishing them at `jwksUri`). */
async function keyClient(keys: TestKey[], jwksUri?: string): Promise<string> {
  const { client } = await admin.create({
    clientId: "",
    name: "keys only",
    scopes: ["read", "write"],
    audiences: [],
    tokenTtlSeconds: undefined,
    authMethod: "private_key_jwt",
  });
  for (const k of keys) await credentials.addKey(client.clientId, k.jwk);
  if (jwksUri !== undefined) await admin.update(client.clientId, { jwksUri });
  return client.clientId;
}

interface Answer {
  status: number;
  json: Record<string, unknown>;
  headers: Headers;
}

async function post(path: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

/** POST /oauth/token authenticated with `assertion` (and client_id when given). */
function token(assertion: string, clientId?: string, more: Record<string, string> = {}): Promise<Answer> {
  return post("/oauth/token", {
    grant_type: "client_credentials",
    client_assertion_type: JWT_BEARER,
    client_assertion: assertion,
    ...(clientId === undefined ? {} : { client_id: clientId }),
    ...more,
  });
}

function expectRefused(a: Answer, description: string | RegExp, error = "invalid_client", status = 401): void {
  expect(a.status).toBe(status);
  expect(a.json).toStrictEqual({
    error,
    error_description: typeof description === "string" ? description : expect.stringMatching(description),
  });
  // RFC 6749 §5.2: no Basic challenge, the client did not use the header.
  expect(a.headers.get("www-authenticate")).toBeNull();
  // RFC 6749 §5.2 character set.
  expect(a.json.error_description).toMatch(/^[\x20\x21\x23-\x5B\x5D-\x7E]+$/);
}

describe("private_key_jwt accepted", () => {
  it("issues a token to a keys-only client for an ES256 assertion whose aud is the issuer, sub = client id", async () => {
    const id = await keyClient([es256]);
    const a = await token(await clientAssertion(es256, id, server.issuer));
    expect(a.status).toBe(200);
    const { payload } = await verifyWithJwks(server.url, a.json.access_token as string, server.issuer);
    expect(payload).toMatchObject({ sub: id, client_id: id, scope: "read write" });
  });

  it("accepts EdDSA, an aud array holding only the issuer, no typ, and client_id given alongside", async () => {
    const id = await keyClient([eddsa]);
    const assertion = await clientAssertion(eddsa, id, server.issuer, { aud: [server.issuer] }, { typ: undefined });
    expect((await token(assertion, id)).status).toBe(200);
  });

  it("picks the key by kid among several, and with no kid the one key that fits the alg", async () => {
    const id = await keyClient([es256, eddsa]);
    expect((await token(await clientAssertion(eddsa, id, server.issuer))).status).toBe(200);
    expect((await token(await clientAssertion(es256, id, server.issuer, {}, { kid: undefined }))).status).toBe(200);
  });

  it("fetches RS256 keys from the client's jwks_uri, and keeps them (Cache-Control) for the next requests", async () => {
    const id = await keyClient([], published.jwksUri);
    const before = published.requests("/client/jwks.json");
    for (let i = 0; i < 3; i++) expect((await token(await clientAssertion(rs256, id, server.issuer))).status).toBe(200);
    expect(published.requests("/client/jwks.json") - before).toBe(1);
  });

  it("authenticates revocation and introspection the same way", async () => {
    const id = await keyClient([es256]);
    const issued = (await token(await clientAssertion(es256, id, server.issuer))).json.access_token as string;
    const revoke = await post("/oauth/revoke", {
      token: issued,
      client_assertion_type: JWT_BEARER,
      client_assertion: await clientAssertion(es256, id, server.issuer),
    });
    expect(revoke.status).toBe(200);
    const { client } = await admin.create({
      clientId: "",
      name: "rs",
      scopes: ["tessera:introspect"],
      audiences: [],
      tokenTtlSeconds: undefined,
      authMethod: "private_key_jwt",
    });
    await credentials.addKey(client.clientId, eddsa.jwk);
    const introspect = await post("/oauth/introspect", {
      token: issued,
      client_assertion_type: JWT_BEARER,
      client_assertion: await clientAssertion(eddsa, client.clientId, server.issuer),
    });
    expect(introspect).toMatchObject({ status: 200, json: { active: false } });
  });
});

describe("RFC 8414 metadata", () => {
  it("lists private_key_jwt and the assertion algorithms for the token, revocation and introspection endpoints; its issuer is the aud to use", async () => {
    const m = (await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    const algs = ["ES256", "ES384", "ES512", "EdDSA", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"];
    for (const endpoint of ["token", "revocation", "introspection"]) {
      expect(m[`${endpoint}_endpoint_auth_methods_supported`]).toEqual(["client_secret_basic", "client_secret_post", "private_key_jwt"]);
      expect(m[`${endpoint}_endpoint_auth_signing_alg_values_supported`]).toEqual(algs);
    }
    // RFC 8414 §2: "none" MUST NOT be listed; nor HS*, which would let a public key serve as an HMAC secret.
    expect(JSON.stringify(m)).not.toMatch(/"none"|"HS(256|384|512)"/);
    const id = await keyClient([es256]);
    expect((await token(await clientAssertion(es256, id, m.issuer as string))).status).toBe(200);
  });
});

describe("private_key_jwt refused, each check with its own answer", () => {
  let id: string;
  beforeEach(async () => {
    id = await keyClient([es256]);
  });

  it("a replayed jti: the same assertion twice", async () => {
    const assertion = await clientAssertion(es256, id, server.issuer);
    expect((await token(assertion)).status).toBe(200);
    expectRefused(
      await token(assertion),
      "The client_assertion's jti was used before: an assertion authenticates one request only (RFC 7523 section 3)",
    );
  });

  it("aud is the token endpoint URL", async () => {
    const a = await token(await clientAssertion(es256, id, server.issuer, { aud: `${server.issuer}/oauth/token` }));
    expectRefused(
      a,
      "The client_assertion's aud is the token endpoint URL: it must be the issuer identifier 'http://tessera.test' alone (the issuer identifier, not an endpoint)",
    );
  });

  it("aud is another issuer", async () => {
    const a = await token(await clientAssertion(es256, id, server.issuer, { aud: "https://other-as.example" }));
    expectRefused(
      a,
      "The client_assertion's aud is 'https://other-as.example': it must be the issuer identifier 'http://tessera.test' alone",
    );
  });

  it("aud is an array holding the issuer and more", async () => {
    const a = await token(await clientAssertion(es256, id, server.issuer, { aud: [server.issuer, "https://other-as.example"] }));
    expectRefused(
      a,
      "The client_assertion's aud holds 2 values: it must be the issuer identifier 'http://tessera.test' alone (a JWT for several audiences could be replayed to us by any of them)",
    );
  });

  it("expired", async () => {
    const now = Math.floor(Date.now() / 1000);
    const a = await token(await clientAssertion(es256, id, server.issuer, { iat: now - 300, exp: now - 120 }));
    expectRefused(a, /^The client_assertion expired 12\ds ago$/);
  });

  it("too long-lived: exp - iat over the 5 minute maximum", async () => {
    const now = Math.floor(Date.now() / 1000);
    const a = await token(await clientAssertion(es256, id, server.issuer, { iat: now, exp: now + 3600 }));
    expectRefused(a, "The client_assertion is valid for 3600s (exp - iat); at most 300s is accepted");
  });

  it("no exp", async () => {
    const a = await token(await clientAssertion(es256, id, server.issuer, { exp: undefined }));
    expectRefused(a, "The client_assertion has no exp claim (RFC 7523 section 3 requires one)");
  });

  it("no iat and exp too far away: the lifetime counts from now", async () => {
    const now = Math.floor(Date.now() / 1000);
    const a = await token(await clientAssertion(es256, id, server.issuer, { iat: undefined, exp: now + 1800 }));
    expectRefused(a, /^The client_assertion is valid for 1[78]\d\ds \(exp - now\); at most 300s is accepted$/);
  });

  it("nbf or iat in the future, beyond the 30 s skew", async () => {
    const now = Math.floor(Date.now() / 1000);
    const nbf = await token(await clientAssertion(es256, id, server.issuer, { nbf: now + 120, exp: now + 180 }));
    expectRefused(nbf, `The client_assertion is not valid before ${new Date((now + 120) * 1000).toISOString()} (nbf)`);
    const iat = await token(await clientAssertion(es256, id, server.issuer, { iat: now + 120, exp: now + 180 }));
    expectRefused(iat, `The client_assertion's iat ${new Date((now + 120) * 1000).toISOString()} lies in the future`);
  });

  it("the jti is recorded only after every other check passed: a forged assertion cannot burn a genuine one's jti", async () => {
    const jti = randomUUID();
    const stranger = await newKey("ES256");
    expectRefused(
      await token(await clientAssertion({ ...stranger, kid: es256.kid }, id, server.issuer, { jti })),
      /^The client_assertion's signature does not verify/,
    );
    expect((await token(await clientAssertion(es256, id, server.issuer, { jti }))).status).toBe(200);
  });

  it("alg none", async () => {
    const claims = { iss: id, sub: id, aud: server.issuer, exp: Math.floor(Date.now() / 1000) + 60, jti: randomUUID() };
    const unsigned = `${base64url.encode(JSON.stringify({ alg: "none" }))}.${base64url.encode(JSON.stringify(claims))}.`;
    // An empty signature is not a signed JWT at all; one with a signature part still names alg none.
    expectRefused(
      await token(unsigned),
      "The client_assertion is not a signed JWT: a compact JWS of three base64url parts whose header and claims are JSON objects",
    );
    expectRefused(
      await token(`${unsigned}AAAA`),
      "The client_assertion's alg 'none' is not accepted: only the asymmetric algorithms ES256, ES384, ES512, EdDSA, RS256, RS384, RS512, PS256, PS384, PS512",
    );
  });

  it("HS256 signed with the client's public key as the HMAC secret", async () => {
    const secret = new TextEncoder().encode(JSON.stringify(es256.jwk));
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ iss: id, sub: id, aud: server.issuer, iat: now, exp: now + 60, jti: randomUUID() })
      .setProtectedHeader({ alg: "HS256", kid: es256.kid })
      .sign(secret);
    expectRefused(await token(forged), /^The client_assertion's alg 'HS256' is not accepted: only the asymmetric algorithms/);
  });

  it("iss and sub are not the client id", async () => {
    const a = await token(await clientAssertion(es256, id, server.issuer, { iss: "someone-else", sub: "someone-else" }), id);
    expectRefused(a, `The client_assertion's iss and sub must both be the client id '${id}' (RFC 7523 section 3)`);
  });

  it("typ names another kind of JWT (an access token)", async () => {
    const a = await token(await clientAssertion(es256, id, server.issuer, {}, { typ: "at+jwt" }));
    expectRefused(a, "The client_assertion's typ 'at+jwt' is another kind of JWT: use client-authentication+jwt, or no typ");
  });

  it("no jti", async () => {
    const a = await token(await clientAssertion(es256, id, server.issuer, { jti: undefined }));
    expectRefused(a, "The client_assertion has no jti claim: each private_key_jwt assertion carries one, used once (RFC 7523 section 3)");
  });

  it("signed by a key the client does not have, under one of its kids", async () => {
    const stranger = await newKey("ES256");
    const a = await token(await clientAssertion({ ...stranger, kid: es256.kid }, id, server.issuer));
    expectRefused(
      a,
      `The client_assertion's signature does not verify with the key '${es256.kid.slice(0, 40)}...' of the client's registered keys`,
    );
  });

  it("a kid the client never registered", async () => {
    const a = await token(await clientAssertion(es256, id, server.issuer, {}, { kid: "unknown-kid" }));
    expectRefused(a, "The client_assertion's kid 'unknown-kid' names none of the client's registered keys");
  });

  it("a key removed by the admin: the assertions it signs are refused from then on", async () => {
    expect((await token(await clientAssertion(es256, id, server.issuer))).status).toBe(200);
    await credentials.removeKey(id, es256.kid);
    expectRefused(
      await token(await clientAssertion(es256, id, server.issuer)),
      /^The client_assertion's kid '.*' names none of the client's registered keys$/,
    );
  });

  it("a secret presented by a keys-only client, and an assertion by a secret client: the one invalid_client answer", async () => {
    const secretClient = await server.createClient();
    const a = await post("/oauth/token", { grant_type: "client_credentials", client_id: id, client_secret: secretClient.clientSecret });
    expectRefused(a, "Client authentication failed");
    const b = await token(await clientAssertion(es256, secretClient.clientId, server.issuer));
    expectRefused(b, "Client authentication failed");
    // The same answer as for an id nobody registered.
    expectRefused(await token(await clientAssertion(es256, "nobody-here", server.issuer)), "Client authentication failed");
  });

  it("an assertion and a secret in one request: one authentication method per request", async () => {
    const assertion = await clientAssertion(es256, id, server.issuer);
    const both = await token(assertion, undefined, { client_secret: "tsec_whatever" });
    expectRefused(both, "The request uses more than one client authentication method (RFC 6749 section 2.3)", "invalid_request", 400);
    const basicToo = await post(
      "/oauth/token",
      { grant_type: "client_credentials", client_assertion_type: JWT_BEARER, client_assertion: assertion },
      { authorization: basic(id, "x") },
    );
    expect(basicToo).toMatchObject({ status: 400, json: { error: "invalid_request" } });
    // Refused before any check: the assertion is still unused.
    expect((await token(assertion)).status).toBe(200);
  });

  it("a malformed assertion, a wrong assertion type, or a type without an assertion", async () => {
    expectRefused(
      await token("not.a.jwt"),
      "The client_assertion is not a signed JWT: a compact JWS of three base64url parts whose header and claims are JSON objects",
    );
    const a = await post("/oauth/token", {
      grant_type: "client_credentials",
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
      client_assertion: "x",
    });
    expectRefused(
      a,
      "The client_assertion_type 'urn:ietf:params:oauth:client-assertion-t...' is not supported: use urn:ietf:params:oauth:client-assertion-type:jwt-bearer (RFC 7523 section 2.2)",
      "invalid_request",
      400,
    );
    const b = await post("/oauth/token", { grant_type: "client_credentials", client_assertion_type: JWT_BEARER });
    expectRefused(b, "client_assertion and client_assertion_type go together (RFC 7521 section 4.2)", "invalid_request", 400);
  });

  it("the assertion in the query string", async () => {
    const assertion = await clientAssertion(es256, id, server.issuer);
    const res = await fetch(`${server.url}/oauth/token?client_assertion=${assertion}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_assertion_type: JWT_BEARER,
        client_assertion: assertion,
      }).toString(),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toStrictEqual({
      error: "invalid_request",
      error_description: "Client credentials must not be sent in the query string (RFC 6749 section 2.3.1)",
    });
  });
});

describe("a client's jwks_uri", () => {
  it("an unknown kid refetches the keys once, then is refused without another fetch", async () => {
    const uriKey = await newKey("ES256");
    const issuer = await startKeyIssuer({ keys: [uriKey], jwksPath: "/k" });
    try {
      const id = await keyClient([], issuer.jwksUri);
      expect((await token(await clientAssertion(uriKey, id, server.issuer))).status).toBe(200);
      expect(issuer.requests("/k")).toBe(1);
      // The client rotated to a key it has not published yet.
      const rotated = await newKey("ES256");
      const first = await token(await clientAssertion(rotated, id, server.issuer));
      expectRefused(
        first,
        new RegExp(`^The client_assertion's kid '.*' names none of the keys at the client's jwks_uri '${issuer.url.slice(0, 20)}`),
      );
      expect(issuer.requests("/k")).toBe(2);
      const again = await token(await clientAssertion(rotated, id, server.issuer));
      expectRefused(again, /names none of the keys at the client's jwks_uri/);
      expect(issuer.requests("/k")).toBe(2);
    } finally {
      await issuer.close();
    }
  });

  it("refused with the reason when the jwks_uri cannot be reached and no keys were fetched before", async () => {
    const issuer = await startKeyIssuer({ keys: [es256], jwksPath: "/gone" });
    const id = await keyClient([], issuer.jwksUri);
    await issuer.close();
    const a = await token(await clientAssertion(es256, id, server.issuer));
    expectRefused(
      a,
      /^Cannot fetch the keys at the client's jwks_uri 'http:\/\/127\.0\.0\.1:\d+\/gone': it cannot be reached \(ECONNREFUSED\)$/,
    );
  });
});

describe("tokens of private_key_jwt clients", () => {
  it("are cut off with the client: disabling it makes its assertion-based tokens inactive", async () => {
    const id = await keyClient([es256]);
    const issued = (await token(await clientAssertion(es256, id, server.issuer))).json.access_token as string;
    const rs = await server.createClient({ scopes: ["tessera:introspect"] });
    const active = () => post("/oauth/introspect", { token: issued }, { authorization: basic(rs.clientId, rs.clientSecret) });
    expect((await active()).json.active).toBe(true);
    await admin.revokeTokens(id);
    expect((await active()).json).toStrictEqual({ active: false });
    expect(decodeJwt(issued).sub).toBe(id);
  });

  it("failed assertions are throttled per presented client id and address, with the same answer for a known and an unknown id", async () => {
    const limited = await startTestServer({ env: { TESSERA_AUTH_FAILURE_LIMIT: "2" } });
    try {
      const core = new ClientAdminCore(limited.running.storage, Date.now);
      const { client } = await core.create({
        clientId: "",
        name: "k",
        scopes: [],
        audiences: [],
        tokenTtlSeconds: undefined,
        authMethod: "private_key_jwt",
      });
      await new ClientCredentialAdmin(limited.running.storage, Date.now, limited.issuer).addKey(client.clientId, es256.jwk);
      const answers: Record<string, unknown>[] = [];
      for (const who of [client.clientId, "nobody-at-all"]) {
        for (let i = 0; i < 3; i++) {
          const res = await fetch(`${limited.url}/oauth/token`, {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams({
              grant_type: "client_credentials",
              client_assertion_type: JWT_BEARER,
              client_assertion: await clientAssertion(es256, who, "https://wrong.example"),
            }),
          });
          answers.push({ who, status: res.status, body: await res.json(), retry: res.headers.get("retry-after") });
        }
      }
      const third = answers.filter((_, i) => i % 3 === 2).map(({ status, body }) => ({ status, body }));
      expect(third[0]).toEqual(third[1]);
      expect(third[0]).toMatchObject({ status: 429, body: { error: "temporarily_unavailable" } });
      // Once the id is throttled from this address, even a good assertion waits.
      const good = await fetch(`${limited.url}/oauth/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_assertion_type: JWT_BEARER,
          client_assertion: await clientAssertion(es256, client.clientId, limited.issuer),
        }),
      });
      expect(good.status).toBe(429);
    } finally {
      await limited.stop();
    }
  });
});
