// The ceiling: the least a token endpoint can do on node:http. Parse the form, check a SHA-256
// secret (Basic auth), sign one ES256 JWT with node:crypto, answer JSON. Env: PORT, BENCH_ISSUER,
// BENCH_PRIVATE_JWK (JSON, EC P-256), BENCH_CLIENT_ID, BENCH_CLIENT_SECRET, BENCH_AUDIENCE.

import { createHash, createPrivateKey, randomUUID, sign, timingSafeEqual } from "node:crypto";
import http from "node:http";
import { serveHttp, setting } from "./peer-process.mjs";

const env = process.env;
/** @type {import("node:crypto").JsonWebKey} */
const jwk = JSON.parse(setting(env, "BENCH_PRIVATE_JWK"));
/** @type {import("node:crypto").SignKeyObjectInput} */
const key = { key: createPrivateKey({ key: jwk, format: "jwk" }), dsaEncoding: "ieee-p1363" };
const header = Buffer.from(JSON.stringify({ alg: "ES256", typ: "at+jwt", kid: jwk.kid })).toString("base64url");
const sha = (/** @type {string} */ s) => createHash("sha256").update(s).digest();
const clients = new Map([[setting(env, "BENCH_CLIENT_ID"), sha(setting(env, "BENCH_CLIENT_SECRET"))]]);
/**
 * @param {http.ServerResponse} res
 * @param {number} status
 * @param {object} body
 */
const send = (res, status, body) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), "cache-control": "no-store" });
  res.end(text);
};

const server = http.createServer((req, res) => {
  /** @type {Buffer[]} */
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const form = new URLSearchParams(Buffer.concat(chunks).toString());
    const [id = "", secret] = Buffer.from((req.headers.authorization ?? "").slice(6), "base64")
      .toString()
      .split(":")
      .map(decodeURIComponent);
    const want = clients.get(id);
    if (req.url !== "/oauth/token" || form.get("grant_type") !== "client_credentials") return send(res, 400, { error: "invalid_request" });
    if (!want || !timingSafeEqual(want, sha(secret ?? ""))) return send(res, 401, { error: "invalid_client" });
    const iat = Math.floor(Date.now() / 1000);
    const claims = {
      iss: env.BENCH_ISSUER,
      sub: id,
      aud: env.BENCH_AUDIENCE,
      exp: iat + 3600,
      iat,
      jti: randomUUID(),
      client_id: id,
      scope: form.get("scope") ?? "",
    };
    const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
    send(res, 200, {
      access_token: `${input}.${sign("sha256", Buffer.from(input), key).toString("base64url")}`,
      token_type: "Bearer",
      expires_in: 3600,
    });
  });
});
server.keepAliveTimeout = 60_000;
serveHttp(server);
