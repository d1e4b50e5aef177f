import { describe, expect, it } from "vitest";
import { bearerToken } from "../../src/verify/bearer-credentials.js";
import { bearerChallenge } from "../../src/verify/challenge.js";
import { BearerTokenError } from "../../src/verify/errors.js";

const codeOf = (auth: string | string[] | undefined, url = "/api/resource") => {
  try {
    return bearerToken(auth, url);
  } catch (e) {
    return (e as BearerTokenError).code;
  }
};

describe("bearerToken (RFC 6750 §2.1)", () => {
  it("takes the token from Authorization: Bearer, scheme case-insensitive", () => {
    expect(codeOf("Bearer abc.DEF-_~+/=")).toBe("abc.DEF-_~+/=");
    expect(codeOf("bearer abc")).toBe("abc");
  });

  it("treats no header, or another scheme, as no token at all", () => {
    expect(codeOf(undefined)).toBe("missing_token");
    expect(codeOf("Basic dXNlcjpwYXNz")).toBe("missing_token");
  });

  it("refuses a malformed Bearer credential or two Authorization headers", () => {
    for (const bad of ["Bearer", "Bearer ", "Bearer a b", 'Bearer "quoted"']) expect(codeOf(bad)).toBe("invalid_request");
    expect(codeOf(["Bearer a", "Bearer b"])).toBe("invalid_request");
  });

  it("refuses ?access_token= in the URL even next to a good header", () => {
    expect(codeOf("Bearer abc", "/api/resource?x=1&access_token=abc")).toBe("invalid_request");
    expect(codeOf(undefined, "/api/resource?access_token=abc")).toBe("invalid_request");
  });
});

describe("bearerChallenge (RFC 6750 §3)", () => {
  it("has no error attribute when no token was sent", () => {
    expect(bearerChallenge(new BearerTokenError("missing_token", "x"), "api")).toBe('Bearer realm="api"');
  });

  it("names the error and the scope needed", () => {
    expect(bearerChallenge(new BearerTokenError("invalid_token", "The access token expired"), "api")).toBe(
      'Bearer realm="api", error="invalid_token", error_description="The access token expired"',
    );
    expect(bearerChallenge(new BearerTokenError("insufficient_scope", "lacks write", ["read", "write"]), "api")).toBe(
      'Bearer realm="api", error="insufficient_scope", error_description="lacks write", scope="read write"',
    );
  });

  it("keeps quotes, backslashes and non-ASCII out of quoted values", () => {
    expect(bearerChallenge(new BearerTokenError("invalid_token", 'say "hi" \\ ü'), 'a"b')).toBe(
      'Bearer realm="a?b", error="invalid_token", error_description="say ?hi? ? ?"',
    );
  });
});
