import { describe, expect, it } from "vitest";
import { quoted } from "../../src/core/quoted.js";

// How a caller's value appears inside an OAuth error_description (RFC 6749 §5.2 allows
// %x20-21 / %x23-5B / %x5D-7E only). test/e2e/hostile/error-description.property.test.ts
// drives every refusal of the real server through that grammar.

describe("quoted", () => {
  it.each([
    ["read", "'read'"],
    ["https://api.example.com/x?y=1&z", "'https://api.example.com/x?y=1&z'"],
    ['say "hi"', "'say %22hi%22'"],
    ["a\\b", "'a%5Cb'"],
    ["it's 100%", "'it%27s 100%25'"],
    ["ré§", "'r%C3%A9%C2%A7'"],
    ["\u0000\n\u007f", "'%00%0A%7F'"],
    ["\ud800", "'%EF%BF%BD'"],
    ["", "''"],
  ])("%j is shown as %s", (value, shown) => {
    expect(quoted(value)).toBe(shown);
  });

  it("cuts a long value after 40 characters, escapes included, and says so", () => {
    expect(quoted("a".repeat(10_000))).toBe(`'${"a".repeat(40)}...'`);
    expect(quoted("é".repeat(100))).toBe(`'${"%C3%A9".repeat(6)}...'`);
  });
});
