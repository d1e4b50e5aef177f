import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { inspect } from "node:util";
import { SignJWT } from "jose";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ClientConfigError, TokenError } from "../../src/client/errors.js";
import { TokenClient } from "../../src/client/token-client.js";
import type { TokenClientOptions } from "../../src/client/token-client-options.js";
import { type AssertionStub, type AssertionStubOptions, startAssertionStub } from "../helpers/assertion-stub-server.js";
import { type TestClientKey, tempFiles, testClientKey } from "../helpers/client-keys.js";

// The SDK authenticating with a private key or a platform token file, against a real token
// endpoint on loopback that verifies each assertion as RFC 7523 requires (signature with the
// registered key, iss, sub, aud, exp, jti, typ), over HTTP/1.1 forms and over gRPC on HTTP/2.

const CLIENT = "tcl_signed";
let files: ReturnType<typeof tempFiles>;
const stubs: AssertionStub[] = [];
const clients: TokenClient[] = [];

beforeEach(() => {
  files = tempFiles();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(stubs.splice(0).map((s) => s.close()));
  files.cleanup();
});

async function stub(o: Omit<AssertionStubOptions, "clientId">): Promise<AssertionStub> {
  const s = await startAssertionStub({ clientId: CLIENT, ...o });
  stubs.push(s);
  return s;
}

function client(o: TokenClientOptions): TokenClient {
  const c = new TokenClient({ clientId: CLIENT, env: {}, retry: { baseDelayMs: 1, maxDelayMs: 5 }, ...o });
  clients.push(c);
  return c;
}

/** A platform (a Kubernetes cluster) that issues the workload a token for `audience`. */
async function platformToken(platformKey: TestClientKey, audience: string, subject = "system:serviceaccount:billing:api"): Promise<string> {
  return new SignJWT({ kubernetes: { namespace: "billing" } })
    .setProtectedHeader({ alg: platformKey.alg, kid: platformKey.kid })
    .setIssuer("https://kubernetes.default.svc")
    .setSubject(subject)
    .setAudience(audience)
    .setIssuedAt()
    .setJti(randomUUID()) // RS256 signatures are deterministic: without it, two tokens of one second are the same
    .setExpirationTime("10m")
    .sign(platformKey.privateKey);
}

for (const transport of ["http", "grpc"] as const) {
  describe(`private_key_jwt over ${transport}`, () => {
    it("gets a token with a key file, caches it, and shares one request among concurrent callers", async () => {
      const key = await testClientKey("ES256");
      const s = await stub({ keys: [key.publicJwk], grpc: transport === "grpc" });
      // Over gRPC the stub speaks only HTTP/2, so its issuer is given rather than discovered.
      const c = client({
        server: s.url,
        transport,
        privateKeyFile: files.write("client.jwk", JSON.stringify(key.privateJwk)),
        ...(transport === "grpc" ? { issuer: s.issuer } : {}),
      });
      const tokens = await Promise.all(Array.from({ length: 5 }, () => c.getToken()));
      expect(new Set(tokens)).toEqual(new Set(["stub-token-1"]));
      expect(await c.getToken()).toBe("stub-token-1");
      expect(s.accepted).toHaveLength(1);
      expect(s.accepted[0]!.header).toEqual({ alg: "ES256", kid: key.kid, typ: "client-authentication+jwt" });
      expect(s.accepted[0]!.payload).toMatchObject({ iss: CLIENT, sub: CLIENT, aud: s.issuer });
    });

    it("signs a new assertion for every try of a retried request: no jti is sent twice", async () => {
      const key = await testClientKey("EdDSA");
      const s = await stub({ keys: [key.publicJwk], grpc: transport === "grpc", failFirst: 2 });
      const c = client({ server: s.url, transport, issuer: s.issuer, privateKey: key.privateJwk });
      expect(await c.getToken()).toBe("stub-token-3");
      c.invalidate();
      await c.getToken();
      // Two 503s, then two tokens: four assertions, all different, none refused as a replay.
      expect(s.received).toHaveLength(4);
      expect(new Set(s.received).size).toBe(4);
      expect(s.refusals).toEqual([]);
    });

    it("a refused assertion is an invalid_client TokenError that gives the server's reason and where the key came from, not retried", async () => {
      const registered = await testClientKey("ES256");
      const other = await testClientKey("ES256");
      const s = await stub({ keys: [registered.publicJwk], grpc: transport === "grpc" });
      const path = files.write("client.jwk", JSON.stringify(other.privateJwk));
      const c = new TokenClient({ server: s.url, transport, issuer: s.issuer, env: { CLIENT_ID: CLIENT, CLIENT_KEY_FILE: path } });
      clients.push(c);
      const err = (await c.getToken().catch((e: unknown) => e)) as TokenError;
      expect(err).toBeInstanceOf(TokenError);
      expect([err.code, err.attempts]).toEqual(["invalid_client", 1]);
      expect(err.message).toBe(
        `The token service refused the signed client assertion: unknown kid. Check CLIENT_ID and the private key in CLIENT_KEY_FILE (${path}), and that its public key is registered for the client.`,
      );
    });

    it("reads the platform token file for every request: a token the platform rotated on disk is sent next time", async () => {
      const platform = await testClientKey("RS256");
      const s = await stub({
        grpc: transport === "grpc",
        platform: {
          issuer: "https://kubernetes.default.svc",
          jwks: { keys: [platform.publicJwk] },
          subject: "system:serviceaccount:billing:api",
        },
      });
      const first = await platformToken(platform, s.issuer);
      const path = files.write("token", `${first}\n`);
      const c = new TokenClient({ server: s.url, transport, env: { CLIENT_ID: CLIENT, CLIENT_ASSERTION_FILE: path } });
      clients.push(c);
      await c.getToken();
      const second = await platformToken(platform, s.issuer);
      expect(second).not.toBe(first);
      files.write("token", second);
      c.invalidate();
      await c.getToken();
      expect(s.accepted.map((a) => [a.kind, a.raw])).toEqual([
        ["platform_token", first],
        ["platform_token", second],
      ]);
      expect(s.metadataRequests).toBe(0); // a platform token is sent as is: no issuer needed
    });
  });
}

describe("the issuer, the audience of every assertion", () => {
  it("is learned from the server's metadata once, and used for every assertion", async () => {
    const key = await testClientKey("ES256");
    const s = await stub({ keys: [key.publicJwk] });
    const c = client({ server: `${s.url}/`, privateKey: JSON.stringify(key.privateJwk) });
    for (let i = 0; i < 3; i++) {
      c.invalidate();
      await c.getToken();
    }
    expect(s.metadataRequests).toBe(1);
    expect(s.accepted.map((a) => a.payload.aud)).toEqual([s.url, s.url, s.url]);
  });

  it("is refused when the metadata names another issuer than the server it came from, and then sends no assertion", async () => {
    const key = await testClientKey("ES256");
    const s = await stub({ keys: [key.publicJwk], issuer: () => "https://tessera.example.com" });
    const c = client({ server: s.url, privateKey: key.privateJwk });
    const err = await c.getToken().catch((e: unknown) => e);
    expect(err).toEqual(
      new ClientConfigError(
        `The server at ${s.url} says its issuer is "https://tessera.example.com", another address: a signed assertion is only made for an issuer reached at its own address or configured explicitly. If that is Tessera's issuer, set the issuer option or TESSERA_ISSUER to Tessera's issuer.`,
      ),
    );
    expect(s.tokenRequests).toBe(0);
    // Given explicitly (a Tessera behind an internal address), it is used as is.
    const explicit = client({ server: s.url, issuer: "https://tessera.example.com", privateKey: key.privateJwk });
    expect(await explicit.getToken()).toBe("stub-token-1");
    expect(s.accepted[0]!.payload.aud).toBe("https://tessera.example.com");
    const fromEnv = new TokenClient({
      server: s.url,
      env: {
        CLIENT_ID: CLIENT,
        TESSERA_ISSUER: "https://tessera.example.com",
        CLIENT_KEY_FILE: files.write("k.jwk", JSON.stringify(key.privateJwk)),
      },
    });
    clients.push(fromEnv);
    expect(await fromEnv.getToken()).toBe("stub-token-2");
  });

  it("a server without metadata: a sentence that says what to set", async () => {
    const key = await testClientKey("ES256");
    const s = await stub({ keys: [key.publicJwk], grpc: true }); // HTTP/2 only: the HTTP/1.1 metadata request fails
    const c = client({ server: s.url, transport: "grpc", privateKey: key.privateJwk, retry: { maxAttempts: 1 } });
    const err = (await c.getToken().catch((e: unknown) => e)) as TokenError;
    expect(err.code).toBe("network_error");
    expect(err.message).toContain(`${s.url}/.well-known/oauth-authorization-server`);
  });
});

describe("choosing how to authenticate", () => {
  const jwk = async () => JSON.stringify((await testClientKey("ES256")).privateJwk);

  it("one way only, from the caller or else from exactly one variable", async () => {
    const key = files.write("k.jwk", await jwk());
    const token = files.write("t", "a.b.c");
    const cases: Array<[TokenClientOptions, string]> = [
      [{ clientSecret: "s", privateKeyFile: key }, "Pass only one way to authenticate, not clientSecret and privateKeyFile."],
      [
        { env: { CLIENT_ID: "c", CLIENT_SECRET: "s", CLIENT_KEY_FILE: key } },
        "Both CLIENT_SECRET and CLIENT_KEY_FILE are set; set only one.",
      ],
      [
        { env: { CLIENT_ID: "c", CLIENT_KEY_FILE: key, CLIENT_ASSERTION_FILE: token, CLIENT_SECRET_FILE: key } },
        "CLIENT_SECRET_FILE, CLIENT_KEY_FILE and CLIENT_ASSERTION_FILE are all set; set only one.",
      ],
      [
        { env: { CLIENT_ID: "c" } },
        "No client credentials: pass them, or set CLIENT_SECRET, CLIENT_SECRET_FILE, CLIENT_KEY_FILE or CLIENT_ASSERTION_FILE.",
      ],
      [{ env: { CLIENT_KEY_FILE: key } }, "No client id: pass clientId or set CLIENT_ID."],
      [
        { env: { CLIENT_ID: "c", CLIENT_SECRET: "s", CLIENT_KEY_ID: "k1" } },
        "CLIENT_KEY_ID names a key, but no private key is given (CLIENT_KEY_FILE).",
      ],
      [
        { env: { CLIENT_ID: "c", CLIENT_ASSERTION_FILE: "/nonexistent/token" } },
        "CLIENT_ASSERTION_FILE /nonexistent/token could not be read (ENOENT).",
      ],
      [
        { env: { CLIENT_ID: "c", CLIENT_ASSERTION_FILE: files.write("empty", "\n") } },
        `CLIENT_ASSERTION_FILE ${files.dir}/empty is empty.`,
      ],
      [
        { env: { CLIENT_ID: "c", CLIENT_ASSERTION_FILE: files.write("secret", "tsec_not_a_jwt\n") } },
        `CLIENT_ASSERTION_FILE ${files.dir}/secret does not hold a signed JWT (three base64url parts separated by dots).`,
      ],
      [
        { env: { CLIENT_ID: "c", CLIENT_KEY_FILE: key, TESSERA_ISSUER: "tessera.example.com" } },
        'The issuer (TESSERA_ISSUER) must be Tessera\'s issuer URL, such as https://auth.example.com, not "tessera.example.com".',
      ],
      [
        {
          server: undefined,
          endpoint: { transport: "fake", target: "fake", issue: () => Promise.reject(new Error("unused")) },
          env: { CLIENT_ID: "c", CLIENT_KEY_FILE: key },
        },
        "A private key signs assertions for Tessera's issuer: set the issuer option or TESSERA_ISSUER, or give the server to learn it from.",
      ],
    ];
    for (const [options, message] of cases) {
      expect(() => new TokenClient({ server: "http://tessera.test", ...options }), message).toThrow(new ClientConfigError(message));
    }
  });

  it("a program names its own flags in messages (optionLabels)", () => {
    const labels = { server: "--server or TESSERA_SERVER", privateKeyFile: "--key", issuer: "--issuer or TESSERA_ISSUER" };
    expect(() => new TokenClient({ server: "localhost:8080", env: { CLIENT_ID: "c", CLIENT_SECRET: "s" }, optionLabels: labels })).toThrow(
      'The server (--server or TESSERA_SERVER) must be an http:// or https:// URL such as http://localhost:8080, not "localhost:8080"; did you mean "http://localhost:8080"?',
    );
    expect(
      () => new TokenClient({ server: "http://t.test", clientId: "c", privateKeyFile: "/nonexistent/k.jwk", optionLabels: labels }),
    ).toThrow(new ClientConfigError("--key /nonexistent/k.jwk could not be read (ENOENT)."));
  });
});

describe("the assertion and the private key never leak", () => {
  it("not in logs, errors (with causes), or the client object, whichever way it fails", async () => {
    const key = await testClientKey("ES256");
    const wrongKey = await testClientKey("ES256");
    const platform = await testClientKey("ES256");
    const s = await stub({
      keys: [key.publicJwk],
      platform: {
        issuer: "https://kubernetes.default.svc",
        jwks: { keys: [platform.publicJwk] },
        subject: "system:serviceaccount:billing:api",
      },
    });
    const lines: string[] = [];
    const logger = pino({ level: "trace" }, new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) }));
    // Every metrics event, whatever its hook, goes to the same record as the log lines.
    const metrics = new Proxy(
      {},
      {
        get:
          (_t, hook) =>
          (...args: unknown[]) =>
            lines.push(`${String(hook)} ${inspect(args, { depth: Infinity })}`),
      },
    );
    const base = { server: s.url, logger, metrics, retry: { maxAttempts: 2, baseDelayMs: 1 } };
    const good = client({ ...base, privateKey: key.privateJwk });
    const tokens = [await good.getToken()];
    const wrong = client({ ...base, privateKeyFile: files.write("wrong.jwk", JSON.stringify(wrongKey.privateJwk)) });
    const misaimed = client({ ...base, assertionFile: files.write("token", await platformToken(platform, "https://elsewhere.example")) });
    const errors = [await wrong.getToken().catch((e: unknown) => e), await misaimed.getToken().catch((e: unknown) => e)];
    expect(errors.map((e) => (e as TokenError).code)).toEqual(["invalid_client", "invalid_client"]);
    const secrets = [...s.received, ...tokens, ...[key, wrongKey].flatMap((k) => [String(k.privateJwk.d)])];
    expect(s.received.length).toBe(3);
    const shown = [
      ...lines,
      ...[...errors, good, wrong, misaimed].flatMap((v) => [
        inspect(v, { depth: Infinity, showHidden: true }),
        JSON.stringify(v) ?? "",
        String(v),
        (v as Error).stack ?? "",
      ]),
    ];
    for (const text of shown) for (const secret of secrets) expect(text.includes(secret), `leaked in: ${text.slice(0, 200)}`).toBe(false);
    expect(lines.join("")).toContain(`"auth":"private_key_jwt"`); // the logs still say how the client authenticated
    expect(lines.join("")).toContain(`"auth":"platform_token"`);
    expect(lines.filter((l) => l.startsWith("requestFailed ")).length).toBe(2); // and the metrics were recorded
  });

  it("redacts the assertion when a misbehaving server echoes it", async () => {
    const key = await testClientKey("ES256");
    let seen = "";
    const echo = (async (_url: string | URL | Request, init?: RequestInit) => {
      seen = new URLSearchParams(init?.body as URLSearchParams).get("client_assertion") ?? "";
      return new Response(
        JSON.stringify({ error: "invalid_request", error_description: `bad assertion ${seen} (signature ${seen.split(".")[2]})` }),
        { status: 400 },
      );
    }) as typeof fetch;
    const c = client({ server: "http://tessera.test", issuer: "http://tessera.test", privateKey: key.privateJwk, fetch: echo });
    const err = (await c.getToken().catch((e: unknown) => e)) as TokenError;
    expect(seen).toMatch(/^eyJ/);
    expect(err.description).toBe("bad assertion [redacted] (signature [redacted])");
  });

  it("does not follow a redirect from the token endpoint, so the assertion goes nowhere else", async () => {
    const key = await testClientKey("ES256");
    const target = await stub({ keys: [key.publicJwk] });
    const http = await import("node:http");
    const redirector = http.createServer((_req, res) => res.writeHead(307, { location: `${target.url}/oauth/token` }).end());
    await new Promise<void>((r) => redirector.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(redirector.address() as { port: number }).port}`;
      const c = client({ server: url, issuer: target.issuer, privateKey: key.privateJwk, retry: { maxAttempts: 1 } });
      const err = (await c.getToken().catch((e: unknown) => e)) as TokenError;
      expect(err.code).toBe("invalid_response");
      expect(err.description).toBe(`HTTP 307 redirect to ${target.url}/oauth/token, not followed; give the server address it redirects to`);
      expect(target.tokenRequests).toBe(0);
    } finally {
      redirector.close();
    }
  });
});
