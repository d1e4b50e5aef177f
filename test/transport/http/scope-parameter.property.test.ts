import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { OAuthError } from "../../../src/core/errors.js";
import { isScopeToken, MAX_SCOPES, parseScope } from "../../../src/core/scope.js";
import { parseForm } from "../../../src/transport/http/token-request-parser.js";

// The scope parameter as a hostile caller sends it: any string at all reaches parseScope
// (src/core/scope.ts) from the form body or the IssueToken field. test/core/scope.test.ts has
// the well-formed cases; these are the arbitrary ones.

const codeUnits = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n)), maxLength: 80 });
const scopeish = fc.string({
  unit: fc.oneof(
    {
      weight: 5,
      arbitrary: fc.constantFrom(" ", "  ", "read", "write", "a", "\t", "\n", '"', "\\", "\u0000", "\u007f", "é", "🔑", "tessera:admin"),
    },
    { weight: 3, arbitrary: fc.string({ unit: "binary-ascii", minLength: 1, maxLength: 3 }) },
  ),
  maxLength: 60,
});

describe("parseScope on arbitrary strings", () => {
  it("property: gives distinct valid scope tokens taken from the input, or OAuthError invalid_scope", () => {
    fc.assert(
      fc.property(fc.oneof(scopeish, codeUnits, fc.string({ unit: "binary", maxLength: 80 })), (raw) => {
        let scopes: string[];
        try {
          scopes = parseScope(raw);
        } catch (err) {
          if (!(err instanceof OAuthError)) throw new Error(`threw something other than OAuthError: ${String(err)}`);
          expect(err.code).toBe("invalid_scope");
          return;
        }
        expect(new Set(scopes).size).toBe(scopes.length);
        const pieces = raw.split(" ").filter((p) => p !== "");
        for (const s of scopes) {
          expect(isScopeToken(s)).toBe(true);
          expect(pieces).toContain(s);
        }
        // Nothing dropped: every non-empty piece is one of the scopes.
        for (const p of pieces) expect(scopes).toContain(p);
        expect(scopes.length).toBeLessThanOrEqual(MAX_SCOPES);
      }),
      { numRuns: 3000 },
    );
  });

  it("property: a piece with any character outside RFC 6749 §3.3 makes the whole parameter invalid_scope (never narrowed)", () => {
    const bad = fc.string({ unit: "binary", minLength: 1, maxLength: 1 }).filter((c) => c !== " " && !/^[\x21\x23-\x5B\x5D-\x7E]$/.test(c));
    fc.assert(
      fc.property(fc.array(fc.constantFrom("read", "write", "x"), { maxLength: 5 }), bad, (good, c) => {
        const raw = [...good, `ok${c}`].join(" ");
        expect(() => parseScope(raw)).toThrow(OAuthError);
      }),
      { numRuns: 1000 },
    );
  });

  it("refuses 10,000 distinct scopes in one parameter with a sentence naming the limit", () => {
    const raw = Array.from({ length: 10_000 }, (_, i) => `s${i}`).join(" ");
    try {
      parseScope(raw);
      expect.fail("accepted 10,000 scopes");
    } catch (err) {
      expect(err).toBeInstanceOf(OAuthError);
      expect(err).toMatchObject({ code: "invalid_scope", description: `At most ${MAX_SCOPES} scopes may be requested` });
    }
  });

  it("property: a scope parameter that came through the form decodes and parses the same as sent", () => {
    const token = fc.stringMatching(/^[\x21\x23-\x5B\x5D-\x7E]{1,20}$/);
    fc.assert(
      fc.property(fc.uniqueArray(token, { maxLength: 20 }), (scopes) => {
        const form = parseForm(new URLSearchParams({ scope: scopes.join(" ") }).toString());
        expect(parseScope(form.get("scope")![0]!)).toEqual(scopes);
      }),
      { numRuns: 1000 },
    );
  });
});
