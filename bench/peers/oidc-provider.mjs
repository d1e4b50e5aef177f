// The peer: node-oidc-provider (devDependency) issuing RFC 9068-style JWT access tokens for the
// client credentials grant, signed with ES256 as Tessera's are in the benchmark.
// Started by bench/run.mjs; configuration comes from the environment:
//   PORT, BENCH_ISSUER, BENCH_PRIVATE_JWK (JSON), BENCH_CLIENT_ID, BENCH_CLIENT_SECRET, BENCH_AUDIENCE
import http from "node:http";
import Provider, { errors } from "oidc-provider";
import { serveHttp, setting } from "./peer-process.mjs";

const env = process.env;
/** @type {import("oidc-provider").JWK} */
const jwk = JSON.parse(setting(env, "BENCH_PRIVATE_JWK"));
const audience = setting(env, "BENCH_AUDIENCE");
const alg = jwk.alg;
if (alg !== "ES256") throw new Error(`BENCH_PRIVATE_JWK must be an ES256 key, not ${alg}`);

const provider = new Provider(setting(env, "BENCH_ISSUER"), {
  clients: [
    {
      client_id: setting(env, "BENCH_CLIENT_ID"),
      client_secret: setting(env, "BENCH_CLIENT_SECRET"),
      grant_types: ["client_credentials"],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: "client_secret_basic",
      scope: "read write",
      // Only an ES256 key is configured; the default (RS256) would make the client invalid.
      id_token_signed_response_alg: alg,
    },
  ],
  jwks: { keys: [{ ...jwk, use: "sig" }] },
  scopes: ["read", "write"],
  ttl: { ClientCredentials: 3600 },
  cookies: { keys: ["bench-only-cookie-key-not-a-secret"] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => audience,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resource) => {
        if (resource !== audience) throw new errors.InvalidTarget();
        return { scope: "read write", audience, accessTokenTTL: 3600, accessTokenFormat: "jwt", jwt: { sign: { alg } } };
      },
    },
  },
});

const server = http.createServer(provider.callback());
server.keepAliveTimeout = 60_000;
serveHttp(server);
