import { type CryptoKey, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";

/** An issuer in memory: its keys, metadata and JWKS served by a fetch function that counts requests. */
export interface FakeIssuer {
  issuer: string;
  fetch: typeof fetch;
  /** Requests per path. */
  hits: Record<string, number>;
  /** Signs an access token with key `keyIndex`; `header` overrides the protected header. */
  sign(claims?: JWTPayload, header?: Record<string, unknown>, keyIndex?: number): Promise<string>;
  /** Adds a key (a rotation) and returns its index; published only if `publish`. */
  addKey(publish?: boolean): Promise<number>;
  /** Makes the JWKS and metadata answer 503 from now on. */
  breakDown(): void;
  kid(index?: number): string;
  publicJwk(index?: number): JWK;
}

/** Creates a fake issuer at `issuer` with one ES256 key. */
export async function fakeIssuer(issuer = "https://issuer.test"): Promise<FakeIssuer> {
  const keys: Array<{ priv: CryptoKey; pub: JWK; kid: string; published: boolean }> = [];
  const hits: Record<string, number> = {};
  let down = false;
  const addKey = async (publish = true) => {
    const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
    const pub = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(pub);
    keys.push({ priv: privateKey, pub: { ...pub, kid, alg: "ES256", use: "sig" }, kid, published: publish });
    return keys.length - 1;
  };
  await addKey();
  const fetchImpl = (async (input: string | URL | Request) => {
    const url = new URL(input instanceof Request ? input.url : input.toString());
    hits[url.pathname] = (hits[url.pathname] ?? 0) + 1;
    if (down) return new Response("down", { status: 503 });
    if (url.pathname === "/.well-known/oauth-authorization-server") {
      return Response.json({ issuer, jwks_uri: `${issuer}/.well-known/jwks.json` });
    }
    if (url.pathname === "/.well-known/jwks.json") return Response.json({ keys: keys.filter((k) => k.published).map((k) => k.pub) });
    return new Response("not found", { status: 404 });
  }) as typeof fetch;
  return {
    issuer,
    fetch: fetchImpl,
    hits,
    addKey,
    breakDown: () => (down = true),
    kid: (i = 0) => keys[i]!.kid,
    publicJwk: (i = 0) => keys[i]!.pub,
    async sign(claims = {}, header = {}, keyIndex = 0) {
      const k = keys[keyIndex]!;
      const now = Math.floor(Date.now() / 1000);
      const payload = {
        iss: issuer,
        sub: "tcl_1",
        aud: "https://api.test",
        iat: now,
        exp: now + 3600,
        client_id: "tcl_1",
        scope: "read write",
        jti: crypto.randomUUID(),
        ...claims,
      };
      return new SignJWT(payload).setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: k.kid, ...header }).sign(k.priv);
    },
  };
}
