import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyAccessToken } from "../../src/verify/index.js";
import { type FakeIssuer, fakeIssuer } from "./fake-issuer.js";

// The one-line form, without `keys`, must not fetch the JWKS for every token it checks.
let server: http.Server;
let issuer: string;
let fake: FakeIssuer;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    void fake.fetch(`${issuer}${req.url}`).then(async (r) => {
      res.writeHead(r.status, { "content-type": "application/json" });
      res.end(await r.text());
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake = await fakeIssuer(issuer);
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("verifyAccessToken without a key cache of its own", () => {
  it("fetches the issuer's metadata and JWKS once for many tokens", async () => {
    for (let i = 0; i < 5; i++) {
      const token = await fake.sign({ aud: "https://api.example.com", scope: "read" });
      const claims = await verifyAccessToken(token, { issuer, audience: "https://api.example.com", requiredScopes: ["read"] });
      expect(claims.scopes).toEqual(["read"]);
    }
    expect(fake.hits["/.well-known/jwks.json"]).toBe(1);
    expect(fake.hits["/.well-known/oauth-authorization-server"]).toBe(1);
  });
});
