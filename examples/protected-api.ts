// A resource server using access tokens: GET /api/resource answers only callers
// with a valid Tessera token carrying scope "read". The protection is the one `protect` line.
//
//   TESSERA_ISSUER=http://localhost:8080 API_AUDIENCE=https://api.example.com PORT=3000 npx tsx examples/protected-api.ts
import http from "node:http";
import type { AddressInfo } from "node:net";
import { protect } from "tessera-oauth/verify";

const env = process.env;

const getResource = protect(
  {
    issuer: env.TESSERA_ISSUER ?? "http://localhost:8080",
    audience: env.API_AUDIENCE ?? "https://api.example.com",
    scopes: ["read"],
    // Only when the issuer URL is not reachable from here (tests, split-horizon DNS).
    jwksUri: env.TESSERA_JWKS_URI,
    onError: (err) => console.error("auth infrastructure error:", (err as Error).message),
  },
  (req, res) => send(res, 200, { resources: ["Resource 1", "Resource 2", "Resource 3"], client: req.auth.clientId }),
);

const server = http.createServer((req, res) => {
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  if (req.method === "GET" && path === "/api/resource") return getResource(req, res);
  send(res, 404, { error: "not_found" });
});

server.listen(Number(env.PORT ?? 3000), env.HOST ?? "127.0.0.1", () => {
  console.log(JSON.stringify({ msg: "protected API listening", port: (server.address() as AddressInfo).port }));
});

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}
