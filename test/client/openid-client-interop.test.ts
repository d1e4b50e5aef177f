import type { webcrypto } from "node:crypto";
import { decodeProtectedHeader, importJWK } from "jose";
import * as oidc from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenClient } from "../../src/client/token-client.js";
import { type AssertionStub, startAssertionStub } from "../helpers/assertion-stub-server.js";
import { type TestClientKey, testClientKey } from "../helpers/client-keys.js";

// openid-client is a widely used OAuth client that nobody here wrote. Its private_key_jwt
// assertions and ours must pass the same checks, and say the same things: if the stub's
// rules (which are the server's) only fit our SDK, this test says so.

const CLIENT = "tcl_interop";
let stub: AssertionStub;
let key: TestClientKey;

beforeAll(async () => {
  key = await testClientKey("ES256");
  stub = await startAssertionStub({ clientId: CLIENT, keys: [key.publicJwk] });
});
afterAll(() => stub?.close());

describe("openid-client's PrivateKeyJwt and our SDK, against the same token endpoint", () => {
  it("openid-client discovers the server, gets a token, and its assertion passes every check", async () => {
    const cryptoKey = await importJWK(key.privateJwk, "ES256");
    const config = await oidc.discovery(
      new URL(stub.url),
      CLIENT,
      undefined,
      oidc.PrivateKeyJwt({ key: cryptoKey as webcrypto.CryptoKey, kid: key.kid }),
      {
        algorithm: "oauth2", // RFC 8414 metadata, not OpenID Connect discovery
        execute: [oidc.allowInsecureRequests], // a loopback test server without TLS
      },
    );
    const tokens = await oidc.clientCredentialsGrant(config);
    expect(tokens.access_token).toMatch(/^stub-token-/);
    expect(stub.refusals).toEqual([]);
    expect(stub.accepted).toHaveLength(1);
  });

  it("both send the same claims: iss = sub = client id, aud = the issuer alone, a jti, exp a short time ahead", async () => {
    const sdk = new TokenClient({ server: stub.url, clientId: CLIENT, privateKey: key.privateJwk, env: {} });
    await sdk.getToken();
    await sdk.close();
    const [theirs, ours] = stub.accepted.slice(-2);
    for (const a of [theirs!, ours!]) {
      expect(a.payload).toMatchObject({ iss: CLIENT, sub: CLIENT, jti: expect.any(String) as string, exp: expect.any(Number) as number });
      // openid-client may send the issuer as a string or a one-element array; both name only the issuer.
      expect([a.payload.aud].flat()).toEqual([stub.issuer]);
      expect(a.payload.exp! - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(300);
      expect(decodeProtectedHeader(a.raw)).toMatchObject({ alg: "ES256", kid: key.kid });
    }
    // We also type the JWT explicitly (RFC 7523bis), which the checks allow but do not require.
    expect(ours!.header.typ).toBe("client-authentication+jwt");
  });
});
