import { generateKeyPairSync } from "node:crypto";
import { SignJWT } from "jose";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { OAuthError } from "../../src/core/errors.js";
import { INTROSPECT_SCOPE, introspectToken } from "../../src/core/introspect-token.js";
import { revokeToken } from "../../src/core/revoke-token.js";
import { rejection } from "./rejection.js";
import { payloadOf, type TestClient, tokenWorld } from "./token-world.js";

let w: Awaited<ReturnType<typeof tokenWorld>>;
let client: TestClient;
let introspector: TestClient;

beforeEach(async () => {
  w = await tokenWorld();
  client = await w.newClient(["read"], ["https://api.example"], 600);
  introspector = await w.newClient([INTROSPECT_SCOPE]);
});

const revoke = (token: string | undefined, caller: TestClient = client) => revokeToken(w.deps, caller.credentials, token);
const active = async (token: string) => (await introspectToken(w.deps, introspector.credentials, token)).active;

describe("revokeToken", () => {
  it("a client revokes its own token: inactive afterwards, its other tokens stay active", async () => {
    const token = await w.tokenFor(client);
    const other = await w.tokenFor(client);
    expect(await active(token)).toBe(true);
    await expect(revoke(token)).resolves.toBeUndefined();
    expect(await active(token)).toBe(false);
    expect(await w.storage.isTokenRevoked(payloadOf(token).jti)).toBe(true);
    expect(await active(other)).toBe(true);
  });

  it("revoking the same token twice succeeds both times", async () => {
    const token = await w.tokenFor(client);
    await revoke(token);
    await expect(revoke(token)).resolves.toBeUndefined();
    expect(await active(token)).toBe(false);
  });

  it("another client's token: unauthorized_client, and the token stays active", async () => {
    const token = await w.tokenFor(client);
    const write = vi.spyOn(w.storage, "revokeToken");
    const err = await rejection(revoke(token, introspector), OAuthError);
    expect(err.code).toBe("unauthorized_client");
    expect(write).not.toHaveBeenCalled();
    expect(await active(token)).toBe(true);
  });

  it.each([
    ["garbage", "garbage"],
    ["three dots", "a.b.c"],
    ["a header without payload", "eyJhbGciOiJFUzI1NiJ9.e30."],
  ])("a malformed token (%s): resolves and writes nothing", async (_what, token) => {
    const write = vi.spyOn(w.storage, "revokeToken");
    await expect(revoke(token)).resolves.toBeUndefined();
    expect(write).not.toHaveBeenCalled();
  });

  it("a token that is not ours (foreign key with our kid, another issuer, another server's key): resolves and writes nothing", async () => {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const foreign = await new SignJWT(payloadOf(await w.tokenFor(client)))
      .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: w.keys.current.kid })
      .sign(privateKey);
    const otherIssuer = await w.tokenFor(client, { issuer: "https://other.example" });
    // Another Tessera's token: a kid we do not publish.
    const elsewhere = await tokenWorld();
    const stranger = await elsewhere.tokenFor(await elsewhere.newClient(["read"]));
    const write = vi.spyOn(w.storage, "revokeToken");
    await expect(revoke(foreign)).resolves.toBeUndefined();
    await expect(revoke(otherIssuer)).resolves.toBeUndefined();
    await expect(revoke(stranger)).resolves.toBeUndefined();
    expect(write).not.toHaveBeenCalled();
    expect(await w.storage.isTokenRevoked(payloadOf(foreign).jti)).toBe(false);
  });

  it("an expired token: resolves and writes nothing (even when it is another client's)", async () => {
    const token = await w.tokenFor(client);
    w.now = payloadOf(token).exp * 1000;
    const write = vi.spyOn(w.storage, "revokeToken");
    await expect(revoke(token)).resolves.toBeUndefined();
    await expect(revoke(token, introspector)).resolves.toBeUndefined();
    expect(write).not.toHaveBeenCalled();
  });

  it("a missing or empty token parameter: invalid_request", async () => {
    expect((await rejection(revoke(undefined), OAuthError)).code).toBe("invalid_request");
    expect((await rejection(revoke(""), OAuthError)).code).toBe("invalid_request");
  });

  it("bad or missing client credentials: invalid_client, and the token stays active", async () => {
    const token = await w.tokenFor(client);
    const wrong = { ...client, credentials: { ...client.credentials, clientSecret: introspector.clientSecret } };
    expect((await rejection(revoke(token, wrong), OAuthError)).code).toBe("invalid_client");
    expect((await rejection(revokeToken(w.deps, undefined, token), OAuthError)).code).toBe("invalid_client");
    expect(await active(token)).toBe(true);
  });

  it("the deny-list entry expires with the token: pruning removes it only once the token has expired", async () => {
    const token = await w.tokenFor(client);
    const { jti, exp } = payloadOf(token);
    const write = vi.spyOn(w.storage, "revokeToken");
    await revoke(token);
    expect(write).toHaveBeenCalledWith(jti, client.clientId, exp * 1000);

    // While the token could still be used, the entry stays.
    expect(await w.storage.pruneRevokedTokens(exp * 1000 - 1)).toBe(0);
    w.now = exp * 1000 - 1;
    expect(await active(token)).toBe(false);
    // pruneRevokedTokens drops entries whose expireTime < before: at exp the entry expires.
    expect(await w.storage.pruneRevokedTokens(exp * 1000)).toBe(0);
    expect(await w.storage.pruneRevokedTokens(exp * 1000 + 1)).toBe(1);
    expect(await w.storage.isTokenRevoked(jti)).toBe(false);
    // The token is expired by then, so it stays inactive without the entry.
    w.now = exp * 1000;
    expect(await active(token)).toBe(false);
  });
});
