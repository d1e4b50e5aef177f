import { generateKeyPairSync } from "node:crypto";
import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { jwkThumbprint, parseClientKey } from "../../src/client/client-key.js";
import { fileClientKey } from "../../src/client/client-key-source.js";
import { ClientConfigError } from "../../src/client/errors.js";
import { fixedIssuer } from "../../src/client/issuer-discovery.js";
import { privateKeyJwt, signClientAssertion } from "../../src/client/private-key-jwt.js";
import { CLIENT_ALGS, tempFiles, testClientKey } from "../helpers/client-keys.js";

const ISSUER = "https://tessera.example.com";
const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);
let files: ReturnType<typeof tempFiles>;
beforeEach(() => {
  files = tempFiles();
});
afterEach(() => files.cleanup());

describe("signClientAssertion (RFC 7523 §3, RFC 7523bis)", () => {
  for (const alg of CLIENT_ALGS) {
    it(`${alg}: iss = sub = client id, aud = the issuer as one string, jti, iat, exp 60 s later; typ, alg and kid in the header; verifies with the public key`, async () => {
      const k = await testClientKey(alg);
      const key = parseClientKey(JSON.stringify(k.privateJwk), "test key");
      const jwt = await signClientAssertion({ clientId: "tcl_a", audience: ISSUER, key, now: NOW });
      const { payload, protectedHeader } = await jwtVerify(jwt, createLocalJWKSet({ keys: [k.publicJwk] }), {
        currentDate: new Date(NOW),
        issuer: "tcl_a",
        subject: "tcl_a",
        audience: ISSUER,
        typ: "client-authentication+jwt",
        algorithms: [alg],
      });
      expect(protectedHeader).toEqual({ alg, kid: k.kid, typ: "client-authentication+jwt" });
      expect(payload).toEqual({
        iss: "tcl_a",
        sub: "tcl_a",
        aud: ISSUER,
        jti: expect.any(String) as string,
        iat: NOW / 1000,
        exp: NOW / 1000 + 60,
      });
      expect(typeof payload.aud).toBe("string"); // never an array: RFC 7523bis wants the issuer alone
    });
  }

  it("gives every assertion its own jti, even within the same second", async () => {
    const key = parseClientKey(JSON.stringify((await testClientKey("ES256")).privateJwk), "test key");
    const jtis = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const jwt = await signClientAssertion({ clientId: "c", audience: ISSUER, key, now: NOW });
      jtis.add((JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString()) as { jti: string }).jti);
    }
    expect(jtis.size).toBe(200);
  });

  it("privateKeyJwt signs a new assertion at every call, dated by the clock it was given", async () => {
    const k = await testClientKey("EdDSA");
    let now = NOW;
    const next = privateKeyJwt({
      clientId: "c",
      key: async () => parseClientKey(k.privateJwk, "k"),
      issuer: fixedIssuer(ISSUER),
      now: () => now,
      source: "test",
    });
    const first = (await next(new AbortController().signal)).revealAssertion();
    now += 5_000;
    const second = (await next(new AbortController().signal)).revealAssertion();
    expect(first).not.toBe(second);
    const iat = (jwt: string) => (JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString()) as { iat: number }).iat;
    expect(iat(second) - iat(first)).toBe(5);
  });
});

describe("parseClientKey: only private asymmetric keys, never HS* or none", () => {
  it("takes the alg from the key: P-256 ES256, Ed25519 EdDSA, RSA RS256 (PS256 when the JWK says so)", async () => {
    for (const alg of CLIENT_ALGS) {
      const k = await testClientKey(alg);
      const { alg: _alg, ...withoutAlg } = k.privateJwk;
      expect(parseClientKey(k.privateJwk, "k").alg).toBe(alg);
      expect(parseClientKey(withoutAlg as object, "k").alg).toBe(alg === "PS256" ? "RS256" : alg);
    }
  });

  it("reads PEM (PKCS#8, SEC1, PKCS#1) as well as JWK", () => {
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    expect(parseClientKey(ec.export({ format: "pem", type: "pkcs8" }).toString(), "k").alg).toBe("ES256");
    expect(parseClientKey(ec.export({ format: "pem", type: "sec1" }).toString(), "k").alg).toBe("ES256");
    expect(parseClientKey(rsa.export({ format: "pem", type: "pkcs1" }).toString(), "k").alg).toBe("RS256");
  });

  it("kid: the one given, else the JWK's, else the RFC 7638 thumbprint of the public key (as jose computes it)", async () => {
    const k = await testClientKey("ES256", "my-kid");
    expect(parseClientKey(k.privateJwk, "k").kid).toBe("my-kid");
    expect(parseClientKey(k.privateJwk, "k", "override").kid).toBe("override");
    const pem = k.privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    const { kid: _kid, alg: _alg, use: _use, ...bare } = k.publicJwk;
    expect(parseClientKey(pem, "k").kid).toBe(await calculateJwkThumbprint(bare));
    for (const alg of CLIENT_ALGS) {
      const other = await testClientKey(alg);
      expect(jwkThumbprint(other.publicJwk)).toBe(await calculateJwkThumbprint(other.publicJwk));
    }
  });

  it("refuses every key it must not sign with, in a sentence that names where it came from and never quotes it", async () => {
    const ec = await testClientKey("ES256");
    const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" }).privateKey.export({ format: "jwk" });
    const rsa1024 = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    const pss = generateKeyPairSync("rsa-pss", { modulusLength: 2048 }).privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    const ed448 = generateKeyPairSync("ed448").privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    const publicPem = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ format: "pem", type: "spki" }).toString();
    const secretJwk = { kty: "oct", k: "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0", alg: "HS256" };
    const cases: Array<[string | object, string]> = [
      [
        secretJwk,
        "K is a symmetric key (kty oct): client assertions are signed with a private key (ES256, EdDSA, RS256, PS256), never with a shared secret.",
      ],
      [{ ...ec.privateJwk, alg: "HS256" }, 'K has alg "HS256"; client assertions are signed with ES256, EdDSA, RS256, PS256.'],
      [{ ...ec.privateJwk, alg: "none" }, 'K has alg "none"; client assertions are signed with ES256, EdDSA, RS256, PS256.'],
      [{ ...ec.privateJwk, alg: "RS256" }, "K has alg RS256, which does not fit its key type (ec)."],
      [{ ...ec.privateJwk, use: "enc" }, 'K is for use "enc", not for signing ("sig").'],
      [ec.publicJwk, 'K is a public key; the client signs with its private key (the JWK with "d").'],
      [p384, "K is an EC key on curve secp384r1; client assertions use P-256 (ES256)."],
      [rsa1024, "K is a 1024-bit RSA key; use at least 2048 bits."],
      [pss, "K is an RSA-PSS key; give a plain RSA key, as a JWK with alg PS256 to sign PS256."],
      [ed448, "K is a key of type ed448; client assertions are signed with ES256, EdDSA, RS256, PS256 (EC P-256, Ed25519 or RSA keys)."],
      [publicPem, "K holds a public key or certificate; the client signs with its private key."],
      [
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
        "K is encrypted with a passphrase; give the key unencrypted in a file only this service can read, or as a JWK.",
      ],
      [`{"kty":"EC","d":"${String(ec.privateJwk.d)}",`, "K is not valid JSON, so not a JWK."],
      [{ ...ec.privateJwk, x: "AAAA" }, "K is not a valid private JWK."],
      ["tsec_not_a_key", "K holds neither a JWK (JSON) nor a PEM private key."],
    ];
    for (const [material, message] of cases) {
      let caught: unknown;
      try {
        parseClientKey(material as string, "K");
      } catch (err) {
        caught = err;
      }
      expect(caught, message).toEqual(new ClientConfigError(message));
      expect((caught as Error).message).not.toContain(String(ec.privateJwk.d));
    }
  });
});

describe("fileClientKey", () => {
  it("re-reads the file for every request and signs with the new key once it changed", async () => {
    const a = await testClientKey("ES256");
    const b = await testClientKey("EdDSA");
    const path = files.write("client.jwk", JSON.stringify(a.privateJwk));
    const source = fileClientKey(path, "CLIENT_KEY_FILE");
    expect((await source()).kid).toBe(a.kid);
    const same = await source();
    expect(same).toBe(await source()); // unchanged content: parsed once, the same key object
    files.write("client.jwk", `${JSON.stringify(b.privateJwk)}\n`);
    const rotated = await source();
    expect([rotated.kid, rotated.alg]).toEqual([b.kid, "EdDSA"]);
    const jwt = await signClientAssertion({ clientId: "c", audience: ISSUER, key: rotated, now: Date.now() });
    expect(decodeProtectedHeader(jwt).kid).toBe(b.kid);
  });

  it("fails at creation when the file is missing or unusable, and later when it disappears, naming the variable and path", async () => {
    expect(() => fileClientKey("/nonexistent/client.jwk", "CLIENT_KEY_FILE")).toThrow(
      new ClientConfigError("CLIENT_KEY_FILE /nonexistent/client.jwk could not be read (ENOENT)."),
    );
    const bad = files.write("bad.jwk", '{"kty":"oct","k":"c2VjcmV0"}');
    expect(() => fileClientKey(bad, "--key")).toThrow(/^--key .*bad\.jwk is a symmetric key \(kty oct\)/);
    const path = files.write("client.jwk", JSON.stringify((await testClientKey("ES256")).privateJwk));
    const source = fileClientKey(path, "CLIENT_KEY_FILE");
    files.cleanup();
    await expect(source()).rejects.toEqual(new ClientConfigError(`CLIENT_KEY_FILE ${path} could not be read (ENOENT).`));
  });
});
