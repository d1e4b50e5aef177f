import { describe, expect, it } from "vitest";
import {
  CLIENT_AUTH_METHODS,
  CREDENTIAL_PARAMS,
  challengeScheme,
  readClientCredentials,
} from "../../src/core/client-auth/client-authenticators.js";
import { OAuthError } from "../../src/core/errors.js";
import { basic } from "../helpers/test-server.js";

// The client authentication rules, written once in the core (RFC 6749 §2.3), read here through
// a plain parameter map (test/transport/client-auth-doors.test.ts reads them through both doors).

const params = (p: Record<string, string>) => new Map(Object.entries(p));
const read = (authorization: string | undefined, p: Record<string, string> = {}) =>
  readClientCredentials(authorization, params(p), (m, name) => m.get(name) || undefined);

function refusal(f: () => unknown): OAuthError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(OAuthError);
    return err as OAuthError;
  }
  throw new Error("expected a refusal");
}

describe("readClientCredentials", () => {
  it("reads client_secret_basic from the Authorization value and client_secret_post from the parameters", () => {
    expect(read(basic("a", "s"))).toEqual({ clientId: "a", clientSecret: "s", method: "client_secret_basic" });
    expect(read(undefined, { client_id: "a", client_secret: "s" })).toEqual({
      clientId: "a",
      clientSecret: "s",
      method: "client_secret_post",
    });
  });

  it("refuses two methods in one request, whatever the order of the registry", () => {
    const e = refusal(() => read(basic("a", "s"), { client_secret: "s" }));
    expect([e.code, e.description]).toEqual([
      "invalid_request",
      "The request uses more than one client authentication method (RFC 6749 section 2.3)",
    ]);
  });

  it("accepts a client_id parameter naming the client the credentials prove, and refuses another", () => {
    expect(read(basic("a", "s"), { client_id: "a" })?.method).toBe("client_secret_basic");
    const e = refusal(() => read(basic("a", "s"), { client_id: "b" }));
    expect([e.code, e.description]).toEqual(["invalid_request", "The client_id parameter does not match the Basic credentials"]);
  });

  it("refuses an Authorization scheme no method reads, challenging with the one it would (401 Basic)", () => {
    const e = refusal(() => read("Bearer abc", { client_id: "a", client_secret: "s" }));
    expect([e.code, e.description, e.authMethod]).toEqual([
      "invalid_client",
      "Only Basic client authentication is supported in the Authorization header",
      "client_secret_basic",
    ]);
  });

  it("reads a client_id with no proof as a post with an empty secret (it fails like a wrong one), and a secret with no id as nothing", () => {
    expect(read(undefined, { client_id: "a" })).toEqual({ clientId: "a", clientSecret: "", method: "client_secret_post" });
    expect(read(undefined, { client_secret: "s" })).toBeUndefined();
    expect(read(undefined)).toBeUndefined();
  });

  it("names every method for the metadata, the parameters that must not travel in a query, and the challenge of each", () => {
    expect(CLIENT_AUTH_METHODS).toEqual(["client_secret_basic", "client_secret_post", "private_key_jwt"]);
    expect([...CREDENTIAL_PARAMS].sort()).toEqual(["client_assertion", "client_assertion_type", "client_id", "client_secret"]);
    expect([
      challengeScheme("client_secret_basic"),
      challengeScheme("client_secret_post"),
      challengeScheme("private_key_jwt"),
      challengeScheme(undefined),
    ]).toEqual(["Basic", undefined, undefined, undefined]);
  });
});
