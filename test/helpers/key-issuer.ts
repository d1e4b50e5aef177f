import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { type CryptoKey, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";

/** A signing key made in the test: its private half signs, its public JWK is published or registered. */
export interface TestKey {
  alg: "ES256" | "RS256" | "EdDSA" | "PS256" | "ES384";
  kid: string;
  privateKey: CryptoKey;
  /** The public JWK with kid, alg and use. */
  jwk: JWK & { kid: string };
}

/** Generates a key pair for `alg`, its kid the RFC 7638 thumbprint (as `tessera keys generate-client-key` makes them). */
export async function newKey(alg: TestKey["alg"]): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === "EdDSA" ? { crv: "Ed25519" } : {}) });
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub);
  return { alg, kid, privateKey, jwk: { ...pub, kid, alg, use: "sig" } };
}

/** Signs `claims` with `key` as a compact JWS; header fields override alg, kid and typ (undefined drops one). */
export async function signJwt(key: TestKey, claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  const h: Record<string, unknown> = { alg: key.alg, kid: key.kid, ...header };
  for (const k of Object.keys(h)) if (h[k] === undefined) delete h[k];
  return new SignJWT(claims).setProtectedHeader(h as { alg: string }).sign(key.privateKey);
}

/** A private_key_jwt assertion for `clientId` (RFC 7523 §3), valid from now for 60 seconds, unless `claims` say otherwise (undefined drops a claim). */
export async function clientAssertion(
  key: TestKey,
  clientId: string,
  audience: string,
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
  nowMs = Date.now(),
): Promise<string> {
  const now = Math.floor(nowMs / 1000);
  return signJwt(
    key,
    { iss: clientId, sub: clientId, aud: audience, iat: now, exp: now + 60, jti: randomUUID(), ...claims },
    { typ: "client-authentication+jwt", ...header },
  );
}

/** How a KeyIssuer answers a request for its keys or its discovery document. */
export type IssuerMode = "up" | "down" | "redirect" | "huge" | "slow";

/**
 * A real HTTP(S) server on loopback publishing keys, as a workload issuer or a client does: a
 * Kubernetes API server (OpenID discovery at /.well-known/openid-configuration and its JWKS),
 * a SPIFFE bundle endpoint, GitHub's JWKS, or a client's jwks_uri. It counts every request.
 */
export interface KeyIssuer {
  /** https://127.0.0.1:PORT or http://...; the issuer identifier when it serves discovery. */
  readonly url: string;
  /** Where its JWKS is served. */
  readonly jwksUri: string;
  /** The keys it publishes; change the array to rotate. */
  keys: TestKey[];
  /** Cache-Control of the JWKS answer (none when undefined). */
  cacheControl: string | undefined;
  mode: IssuerMode;
  /** Requests per path so far. */
  requests(path?: string): number;
  close(): Promise<void>;
}

/** Options for a KeyIssuer. */
export interface KeyIssuerOptions {
  keys: TestKey[];
  /** Serve HTTPS with these PEM files (makeTlsFiles); plain HTTP otherwise. */
  tls?: { cert: string; key: string } | undefined;
  /** The JWKS path; default /openid/v1/jwks (Kubernetes' own). */
  jwksPath?: string;
  /** A SPIFFE bundle: keys with use jwt-svid and a spiffe_refresh_hint. */
  spiffe?: boolean;
  /** The issuer the discovery document names; default its own URL. */
  discoveryIssuer?: string;
}

/** Starts a KeyIssuer on 127.0.0.1 and a free port. */
export async function startKeyIssuer(opts: KeyIssuerOptions): Promise<KeyIssuer> {
  const counts = new Map<string, number>();
  const jwksPath = opts.jwksPath ?? "/openid/v1/jwks";
  let base = "";
  const state: KeyIssuer = {
    url: "",
    jwksUri: "",
    keys: opts.keys,
    cacheControl: "max-age=3600",
    mode: "up",
    requests: (path) => (path === undefined ? [...counts.values()].reduce((a, b) => a + b, 0) : (counts.get(path) ?? 0)),
    close: async () => {},
  };
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = new URL(req.url ?? "/", base).pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    if (state.mode === "down") return void res.writeHead(503).end("unavailable");
    if (state.mode === "redirect") return void res.writeHead(302, { location: `${base}/elsewhere` }).end();
    if (state.mode === "slow") return; // never answers
    let body: unknown;
    if (path === "/.well-known/openid-configuration") {
      body = {
        issuer: opts.discoveryIssuer ?? base,
        jwks_uri: `${base}${jwksPath}`,
        response_types_supported: ["id_token"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: ["ES256", "RS256"],
      };
    } else if (path === jwksPath) {
      const keys = state.keys.map((k) => (opts.spiffe ? { ...k.jwk, use: "jwt-svid" } : k.jwk));
      body = opts.spiffe ? { spiffe_sequence: 1, spiffe_refresh_hint: 300, keys } : { keys };
    } else {
      return void res.writeHead(404).end();
    }
    const text = state.mode === "huge" ? JSON.stringify({ ...(body as object), padding: "x".repeat(1024 * 1024) }) : JSON.stringify(body);
    res.writeHead(200, {
      "content-type": "application/json",
      ...(state.cacheControl === undefined ? {} : { "cache-control": state.cacheControl }),
    });
    res.end(text);
  };
  const server = opts.tls
    ? https.createServer({ cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key) }, handler)
    : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `${opts.tls ? "https" : "http"}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(state, {
    url: base,
    jwksUri: `${base}${jwksPath}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
