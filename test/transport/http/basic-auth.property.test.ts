import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseBasicAuthorization } from "../../../src/core/client-auth/basic-credentials.js";
import { OAuthError } from "../../../src/core/errors.js";
import { basic } from "../../helpers/test-server.js";

// The Basic parser both doors share (src/core/client-auth/basic-credentials.ts; RFC 6749 §2.3.1 and
// Appendix B: id and secret are form-urlencoded, joined by ":", then base64). It lives next to
// the HTTP parser tests because the form door is its main user.

const RUNS = { numRuns: 1000 };
const text = fc.string({ unit: "binary", maxLength: 30 });
const codeUnits = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n)), maxLength: 60 });
const b64ish = fc.string({
  unit: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ %:"),
  maxLength: 40,
});

/** Header strings around the Basic scheme: right, almost right, and not at all. */
const header = fc.oneof(
  codeUnits,
  fc
    .tuple(
      fc.constantFrom("Basic ", "basic ", "BASIC   ", "Basic", "Basic\t", "Bearer ", " Basic ", "Basicx "),
      fc.oneof(b64ish, codeUnits, fc.base64String({ maxLength: 40 })),
    )
    .map(([s, rest]) => s + rest),
  fc.tuple(text, text).map(([id, secret]) => `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`),
  fc.uint8Array({ maxLength: 30 }).map((bytes) => `Basic ${Buffer.from(bytes).toString("base64")}`),
);

function errorOf(header: string): OAuthError {
  try {
    parseBasicAuthorization(header);
  } catch (err) {
    expect(err).toBeInstanceOf(OAuthError);
    return err as OAuthError;
  }
  return expect.fail(`${JSON.stringify(header)} was accepted`);
}

describe("parseBasicAuthorization: round trip", () => {
  it("property: any id (non-empty) and secret, form-encoded then base64, decode to themselves", () => {
    fc.assert(
      fc.property(
        text.filter((s) => s !== ""),
        text,
        (id, secret) => {
          expect(parseBasicAuthorization(basic(id, secret))).toEqual({ clientId: id, clientSecret: secret });
        },
      ),
      RUNS,
    );
  });

  it("property: the scheme is case-insensitive and any number of spaces may follow it", () => {
    fc.assert(
      fc.property(
        fc.mixedCase(fc.constant("basic")),
        fc.integer({ min: 1, max: 5 }),
        text.filter((s) => s !== ""),
        text,
        (scheme, spaces, id, secret) => {
          const value = basic(id, secret).slice("Basic ".length);
          expect(parseBasicAuthorization(`${scheme}${" ".repeat(spaces)}${value}`)).toEqual({ clientId: id, clientSecret: secret });
        },
      ),
      RUNS,
    );
  });
});

describe("parseBasicAuthorization: arbitrary headers", () => {
  it("property: gives credentials, undefined for another scheme, or OAuthError invalid_request; nothing else", () => {
    fc.assert(
      fc.property(header, (h) => {
        let result: ReturnType<typeof parseBasicAuthorization>;
        try {
          result = parseBasicAuthorization(h);
        } catch (err) {
          if (!(err instanceof OAuthError)) throw new Error(`threw something other than OAuthError: ${String(err)}`);
          expect(err.code).toBe("invalid_request");
          expect(err.description).toMatch(/^The (Authorization header is not valid Basic credentials|Basic credentials)/);
          expect(/^basic +/i.test(h)).toBe(true);
          return;
        }
        if (result === undefined) {
          // Only a header that does not start with the Basic scheme is "another scheme".
          expect(/^basic +/i.test(h)).toBe(false);
        } else {
          expect(/^basic +/i.test(h)).toBe(true);
          expect(result.clientId).not.toBe("");
          expect(typeof result.clientSecret).toBe("string");
        }
      }),
      { numRuns: 3000 },
    );
  });

  it.each([
    ["bad base64 characters", "Basic !!!!", "The Authorization header is not valid Basic credentials (bad base64)"],
    ["base64 of the wrong length", "Basic YWJj=", "The Authorization header is not valid Basic credentials (bad base64)"],
    [
      "base64url instead of base64",
      `Basic ${Buffer.from("a?:>>>").toString("base64url")}`,
      "The Authorization header is not valid Basic credentials (bad base64)",
    ],
    ["nothing after the scheme but spaces", "Basic    ", "The Authorization header is not valid Basic credentials (bad base64)"],
    ["no colon", `Basic ${Buffer.from("idonly").toString("base64")}`, "The Authorization header is not valid Basic credentials (no colon)"],
    ["an empty id", `Basic ${Buffer.from(":secret").toString("base64")}`, "The Basic credentials have an empty client id"],
    ["a raw % in the id", `Basic ${Buffer.from("100%:secret").toString("base64")}`, /^The Basic credentials are not form-urlencoded UTF-8/],
    [
      "a %FF escape in the secret",
      `Basic ${Buffer.from("id:%FF").toString("base64")}`,
      /^The Basic credentials are not form-urlencoded UTF-8/,
    ],
  ])("refuses %s with invalid_request", (_what, h, description) => {
    const err = errorOf(h);
    expect(err.code).toBe("invalid_request");
    if (typeof description === "string") expect(err.description).toBe(description);
    else expect(err.description).toMatch(description);
  });

  it("answers undefined for other schemes, so the caller can say only Basic is supported", () => {
    for (const h of ["Bearer abc", "Digest x", "Basic", "Basic\tYTpi", "Basicc YTpi", "  Basic YTpi", "Negotiate"]) {
      expect(parseBasicAuthorization(h)).toBeUndefined();
    }
  });

  it("keeps a colon inside the secret (only the first colon separates) and decodes %3A in the id", () => {
    expect(parseBasicAuthorization(`Basic ${Buffer.from("a%3Ab:c:d").toString("base64")}`)).toEqual({
      clientId: "a:b",
      clientSecret: "c:d",
    });
  });

  it("refuses raw bytes that are not UTF-8 inside the base64 as invalid_request", () => {
    const h = `Basic ${Buffer.from([0xff, 0xfe, 0x3a, 0x73]).toString("base64")}`; // "\xff\xfe:s"
    expect(errorOf(h).code).toBe("invalid_request");
  });
});
