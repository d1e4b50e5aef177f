import { generateKeyPairSync, type JsonWebKey } from "node:crypto";
import { calculateJwkThumbprint, type JWK } from "jose";
import { describe, expect, it } from "vitest";
import { jwkThumbprint } from "../../src/keys/thumbprint.js";

// RFC 7638 §3.1: the example RSA key and its thumbprint.
const RFC7638_KEY = {
  kty: "RSA",
  n:
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhM" +
    "stn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5h" +
    "ajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
  e: "AQAB",
  alg: "RS256",
  kid: "2011-04-29",
};

function publicAndPrivate(type: "ec" | "ed25519" | "rsa"): { pub: JsonWebKey; priv: JsonWebKey } {
  const pair =
    type === "ec"
      ? generateKeyPairSync("ec", { namedCurve: "P-256" })
      : type === "rsa"
        ? generateKeyPairSync("rsa", { modulusLength: 2048 })
        : generateKeyPairSync("ed25519");
  return { pub: pair.publicKey.export({ format: "jwk" }), priv: pair.privateKey.export({ format: "jwk" }) };
}

describe("jwkThumbprint", () => {
  it("gives the RFC 7638 §3.1 example thumbprint", () => {
    expect(jwkThumbprint(RFC7638_KEY)).toBe("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  });

  it.each([
    ["EC P-256", "ec"],
    ["OKP Ed25519", "ed25519"],
    ["RSA 2048", "rsa"],
  ] as const)("equals jose's calculateJwkThumbprint for an %s key", async (_name, type) => {
    for (let i = 0; i < 3; i++) {
      const { pub } = publicAndPrivate(type);
      expect(jwkThumbprint(pub)).toBe(await calculateJwkThumbprint(pub as JWK));
    }
  });

  it.each([["ec"], ["ed25519"], ["rsa"]] as const)(
    "uses only the required members: a %s private key and extra members give the public key's thumbprint",
    (type) => {
      const { pub, priv } = publicAndPrivate(type);
      const expected = jwkThumbprint(pub);
      expect(jwkThumbprint(priv)).toBe(expected);
      expect(jwkThumbprint({ ...pub, kid: "x", alg: "whatever", use: "sig" })).toBe(expected);
      // Member order in the input does not matter.
      expect(jwkThumbprint(Object.fromEntries(Object.entries(pub).reverse()))).toBe(expected);
    },
  );

  it("differs for different keys", () => {
    expect(jwkThumbprint(publicAndPrivate("ec").pub)).not.toBe(jwkThumbprint(publicAndPrivate("ec").pub));
  });

  it("is 43 base64url characters (SHA-256)", () => {
    expect(jwkThumbprint(publicAndPrivate("ed25519").pub)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("refuses key types it does not know", () => {
    expect(() => jwkThumbprint({ kty: "oct", k: "c2VjcmV0" })).toThrow(TypeError);
    expect(() => jwkThumbprint({})).toThrow(TypeError);
  });
});
