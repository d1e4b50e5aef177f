// The peer: node-oidc-provider (devDependency) issuing RFC 9068-style JWT access tokens for the
// client credentials grant, signed with the same algorithm as Tessera (ES256 by default).
// Started by bench/run.mjs; configuration comes from the environment:
//   PORT, BENCH_ISSUER, BENCH_PRIVATE_JWK (JSON), BENCH_CLIENT_ID, BENCH_CLIENT_SECRET, BENCH_AUDIENCE
import http from "node:http";
import Provider from "oidc-provider";

const env = process.env;
const port = Number(env.PORT);
const jwk = JSON.parse(env.BENCH_PRIVATE_JWK);
const audience = env.BENCH_AUDIENCE;

const provider = new Provider(env.BENCH_ISSUER, {
  clients: [
    {
      client_id: env.BENCH_CLIENT_ID,
      client_secret: env.BENCH_CLIENT_SECRET,
      grant_types: ["client_credentials"],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: "client_secret_basic",
      scope: "read write",
      // Only an ES256 key is configured; the default (RS256) would make the client invalid.
      id_token_signed_response_alg: jwk.alg,
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
        if (resource !== audience) throw new Provider.errors.InvalidTarget();
        return { scope: "read write", audience, accessTokenTTL: 3600, accessTokenFormat: "jwt", jwt: { sign: { alg: jwk.alg } } };
      },
    },
  },
});

const server = http.createServer(provider.callback());
server.keepAliveTimeout = 60_000;
server.listen(port, "127.0.0.1", () => process.stdout.write(`listening ${port}\n`));
const stop = () => (server.close(() => process.exit(0)), server.closeAllConnections());
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
