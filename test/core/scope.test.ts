import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { OAuthError } from "../../src/core/errors.js";
import { isScopeToken, MAX_SCOPE_LENGTH, MAX_SCOPES, parseScope } from "../../src/core/scope.js";

function parseError(raw: string): OAuthError {
  try {
    parseScope(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(OAuthError);
    return err as OAuthError;
  }
  return expect.fail(`parseScope(${JSON.stringify(raw)}) did not throw`);
}

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const scopeToken = fc.stringMatching(/^[\x21\x23-\x5B\x5D-\x7E]{1,30}$/);

describe("parseScope", () => {
  it("splits on spaces and keeps the order of first appearance", () => {
    expect(parseScope("read write admin")).toEqual(["read", "write", "admin"]);
    expect(parseScope("write read")).toEqual(["write", "read"]);
  });

  it("removes duplicates, keeping the first position", () => {
    expect(parseScope("b a b c a")).toEqual(["b", "a", "c"]);
  });

  it("tolerates runs of spaces and leading or trailing spaces", () => {
    expect(parseScope("  read   write ")).toEqual(["read", "write"]);
  });

  it("returns no scopes for an empty or all-space parameter", () => {
    expect(parseScope("")).toEqual([]);
    expect(parseScope("   ")).toEqual([]);
  });

  it("is case-sensitive", () => {
    expect(parseScope("Read read READ")).toEqual(["Read", "read", "READ"]);
  });

  it("accepts the edges of the allowed character set", () => {
    expect(parseScope("! # [ ] ~ api:read/x.y")).toEqual(["!", "#", "[", "]", "~", "api:read/x.y"]);
  });

  it.each([
    ["a double quote", 'read "write"'],
    ["a backslash", "read wr\\ite"],
    ["a non-ASCII letter", "read écrire"],
    ["an emoji", "read 🔑"],
    ["a tab (only spaces separate scopes)", "read\twrite"],
    ["a newline", "read\nwrite"],
    ["DEL", "read\x7f"],
    ["a NUL", "read\x00"],
  ])("rejects %s with invalid_scope", (_what, raw) => {
    expect(parseError(raw).code).toBe("invalid_scope");
  });

  it(`rejects a token longer than ${MAX_SCOPE_LENGTH} characters`, () => {
    expect(parseScope("a".repeat(MAX_SCOPE_LENGTH))).toEqual(["a".repeat(MAX_SCOPE_LENGTH)]);
    expect(parseError("a".repeat(MAX_SCOPE_LENGTH + 1)).code).toBe("invalid_scope");
  });

  it(`accepts ${MAX_SCOPES} distinct scopes and rejects ${MAX_SCOPES + 1}`, () => {
    const scopes = Array.from({ length: MAX_SCOPES + 1 }, (_, i) => `s${i}`);
    expect(parseScope(scopes.slice(0, MAX_SCOPES).join(" "))).toHaveLength(MAX_SCOPES);
    const err = parseError(scopes.join(" "));
    expect(err.code).toBe("invalid_scope");
    expect(err.description).toContain(String(MAX_SCOPES));
  });

  it("counts distinct scopes, so repeats beyond the limit are fine", () => {
    expect(parseScope(Array.from({ length: MAX_SCOPES + 50 }, () => "read").join(" "))).toEqual(["read"]);
  });

  it("property: valid tokens joined by one or more spaces parse to the distinct tokens in first-seen order", () => {
    const spaces = fc.integer({ min: 1, max: 4 }).map((n) => " ".repeat(n));
    fc.assert(
      fc.property(fc.array(fc.tuple(scopeToken, spaces), { maxLength: 30 }), fc.constantFrom("", " ", "  "), (parts, lead) => {
        const raw = lead + parts.map(([token, sep]) => token + sep).join("");
        const expected: string[] = [];
        for (const [token] of parts) if (!expected.includes(token)) expected.push(token);
        expect(parseScope(raw)).toEqual(expected);
      }),
    );
  });

  it("property: a token with any character outside the scope-token set is rejected", () => {
    const bad = fc.string({ unit: "binary", minLength: 1, maxLength: 1 }).filter((c) => c !== " " && !/^[\x21\x23-\x5B\x5D-\x7E]$/.test(c));
    fc.assert(
      fc.property(scopeToken, bad, scopeToken, (before, c, after) => {
        expect(parseError(`ok ${before}${c}${after}`).code).toBe("invalid_scope");
      }),
    );
  });
});

describe("isScopeToken", () => {
  it("is true for a scope token and false for empty, space, quote, backslash, too long", () => {
    expect(isScopeToken("tessera:admin")).toBe(true);
    expect(isScopeToken("")).toBe(false);
    expect(isScopeToken("a b")).toBe(false);
    expect(isScopeToken('a"')).toBe(false);
    expect(isScopeToken("a\\")).toBe(false);
    expect(isScopeToken("x".repeat(MAX_SCOPE_LENGTH + 1))).toBe(false);
  });
});
