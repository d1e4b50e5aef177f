import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { OAuthError } from "../../../src/core/errors.js";
import { parseForm, parseTokenOperation, parseTokenRequest } from "../../../src/transport/http/token-request-parser.js";

// Property-based tests of the form parser every HTTP door shares (RFC 6749 §3.2, WHATWG URL
// §5.1 application/x-www-form-urlencoded, strict about escapes).

const RUNS = { numRuns: 500 };

/** Any well-formed Unicode string (no lone surrogates), up to 20 code points. */
const text = fc.string({ unit: "binary", maxLength: 20 });

/** Any UTF-16 code units, lone surrogates included. */
const codeUnits = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n)), maxLength: 40 });

/** Strings made mostly of the characters a form parser finds interesting. */
const formish = fc.string({
  unit: fc.oneof(
    {
      weight: 4,
      arbitrary: fc.constantFrom("%", "&", "=", "+", " ", "%2", "%FF", "%C3", "%C3%A9", "%E2%82", "%00", "%zz", "%25", "%3D", "%26"),
    },
    { weight: 2, arbitrary: fc.constantFrom(..."0123456789abcdefABCDEF") },
    { weight: 2, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
    { weight: 1, arbitrary: fc.constantFrom("grant_type", "client_id", "scope", "audience", "resource") },
  ),
  maxLength: 40,
});

/** Runs `fn`; returns "ok" or the OAuthError code; any other throw fails the test. */
function outcome(fn: () => unknown): string {
  try {
    fn();
    return "ok";
  } catch (err) {
    if (!(err instanceof OAuthError)) throw new Error(`threw something other than OAuthError: ${String(err)}`);
    expect(err.description.length).toBeGreaterThan(0);
    return err.code;
  }
}

describe("parseForm: round trip", () => {
  it("property: distinct keys encoded by URLSearchParams decode to the same pairs, in order", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(text, text), { selector: ([k]) => k, maxLength: 10 }), (pairs) => {
        const body = new URLSearchParams(pairs).toString();
        const form = parseForm(body);
        expect([...form.entries()]).toEqual(pairs.map(([k, v]) => [k, [v]]));
      }),
      RUNS,
    );
  });

  it("property: audience and resource may repeat; their values keep their order", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom("audience", "resource"), text), { minLength: 1, maxLength: 10 }), (pairs) => {
        const form = parseForm(new URLSearchParams(pairs).toString());
        for (const name of ["audience", "resource"]) {
          const values = pairs.filter(([k]) => k === name).map(([, v]) => v);
          expect(form.get(name)).toEqual(values.length > 0 ? values : undefined);
        }
      }),
      RUNS,
    );
  });

  it("property: any other parameter sent twice is invalid_request (RFC 6749 §3.2)", () => {
    const key = text.filter((k) => k !== "audience" && k !== "resource");
    fc.assert(
      fc.property(key, text, text, (k, v1, v2) => {
        const body = new URLSearchParams([
          [k, v1],
          [k, v2],
        ]).toString();
        try {
          parseForm(body);
          expect.fail("a repeated parameter was accepted");
        } catch (err) {
          expect(err).toBeInstanceOf(OAuthError);
          expect((err as OAuthError).code).toBe("invalid_request");
          expect((err as OAuthError).description).toMatch(/is included more than once \(RFC 6749 section 3\.2\)$/);
        }
      }),
      RUNS,
    );
  });
});

describe("parseForm: arbitrary input", () => {
  it("property: any string either parses or is refused with OAuthError invalid_request, nothing else", () => {
    fc.assert(
      fc.property(fc.oneof(formish, codeUnits, fc.string({ unit: "binary", maxLength: 60 })), (body) => {
        expect(["ok", "invalid_request"]).toContain(outcome(() => parseForm(body)));
      }),
      { numRuns: 2000 },
    );
  });

  it("property: what it accepts from well-formed input is well-formed and agrees with WHATWG URLSearchParams", () => {
    fc.assert(
      fc.property(formish, (body) => {
        let form: Map<string, string[]>;
        try {
          form = parseForm(body);
        } catch {
          return; // refused: covered by the property above
        }
        const whatwg: [string, string][] = [...new URLSearchParams(body)];
        const ours: [string, string][] = [];
        for (const [k, vs] of form) for (const v of vs) ours.push([k, v]);
        // No lone surrogates (\p{Cs} matches only unpaired ones under the u flag).
        for (const s of ours.flat()) expect(/\p{Cs}/u.test(s)).toBe(false);
        // Same pairs as the standard parser, once ours has grouped repeats under the first key.
        const grouped = new Map<string, string[]>();
        for (const [k, v] of whatwg) grouped.set(k, [...(grouped.get(k) ?? []), v]);
        expect([...form.entries()]).toEqual([...grouped.entries()]);
      }),
      { numRuns: 2000 },
    );
  });

  it("refuses malformed and non-UTF-8 percent escapes with one clear sentence", () => {
    for (const body of ["a=%", "a=%2", "a=%zz", "a=%FF", "a=%C3", "a=%E2%82", "%FF=1", "a=%ED%A0%80" /* a UTF-8-encoded surrogate */]) {
      try {
        parseForm(body);
        expect.fail(`${body} was accepted`);
      } catch (err) {
        expect(err).toBeInstanceOf(OAuthError);
        expect(err).toMatchObject({
          code: "invalid_request",
          description: "The form body has a malformed percent escape or one that is not UTF-8",
        });
      }
    }
  });

  it("decodes + as space and %2B as +, keeps NUL and control characters as data", () => {
    expect(parseForm("scope=a+b&x=%2B&n=%00%01&e")).toEqual(
      new Map([
        ["scope", ["a b"]],
        ["x", ["+"]],
        ["n", ["\u0000\u0001"]],
        ["e", [""]],
      ]),
    );
  });

  it("skips empty pairs and ignores a leading, trailing or doubled &", () => {
    expect(parseForm("&&a=1&&b=2&")).toEqual(
      new Map([
        ["a", ["1"]],
        ["b", ["2"]],
      ]),
    );
  });
});

describe("parseTokenRequest: grant_type sent twice", () => {
  // A request a client could really send, with a second grant_type anywhere in it: the same
  // value, another grant type, an empty value, or a differently encoded client_credentials.
  const second = fc.constantFrom("client_credentials", "client%5Fcredentials", "password", "", "authorization_code");
  const others = fc.subarray(
    [
      "client_id=tcl_abc",
      "client_secret=tsec_xyz",
      "scope=read+write",
      "audience=https%3A%2F%2Fapi.example",
      "resource=https%3A%2F%2Fb.example",
    ],
    { minLength: 0 },
  );

  it("property: refused as invalid_request naming grant_type (RFC 6749 section 3.2), wherever the two are and whatever they say", () => {
    fc.assert(
      fc.property(others, second, fc.nat(), fc.nat(), fc.boolean(), (params, value, at1, at2, basic) => {
        const pairs = [...params];
        pairs.splice(at1 % (pairs.length + 1), 0, "grant_type=client_credentials");
        pairs.splice(at2 % (pairs.length + 1), 0, `grant_type=${value}`);
        const auth = basic ? `Basic ${Buffer.from("tcl_abc:tsec_xyz").toString("base64")}` : undefined;
        const body = basic ? pairs.filter((p) => !p.startsWith("client_secret=")).join("&") : pairs.join("&");
        let refusal: unknown;
        try {
          parseTokenRequest(auth, "", body);
        } catch (err) {
          refusal = err;
        }
        expect(refusal, body).toBeInstanceOf(OAuthError);
        expect(refusal).toMatchObject({
          code: "invalid_request",
          description: "The parameter 'grant_type' is included more than once (RFC 6749 section 3.2)",
        });
      }),
      RUNS,
    );
  });

  it("the same request with grant_type once is accepted", () => {
    expect(
      parseTokenRequest(undefined, "", "grant_type=client_credentials&client_id=tcl_abc&client_secret=tsec_xyz&scope=read"),
    ).toMatchObject({
      credentials: { clientId: "tcl_abc", clientSecret: "tsec_xyz", method: "client_secret_post" },
      scope: "read",
    });
  });
});

describe("parseTokenRequest and parseTokenOperation: arbitrary input", () => {
  const header = fc.oneof(
    fc.constant(undefined),
    fc.constant(""),
    formish,
    fc
      .tuple(fc.constantFrom("Basic ", "basic  ", "Bearer ", "BASIC "), fc.oneof(fc.base64String({ maxLength: 40 }), formish))
      .map(([a, b]) => a + b),
  );

  it("property: any Authorization, query and body give a request or an OAuthError of the documented codes", () => {
    fc.assert(
      fc.property(
        header,
        formish,
        fc.oneof(formish, fc.constant("grant_type=client_credentials&client_id=x&client_secret=y")),
        (auth, query, body) => {
          expect(["ok", "invalid_request", "invalid_client", "unsupported_grant_type"]).toContain(
            outcome(() => parseTokenRequest(auth, query, body)),
          );
          expect(["ok", "invalid_request", "invalid_client"]).toContain(outcome(() => parseTokenOperation(auth, query, body)));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
