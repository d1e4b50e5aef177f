import * as crypto from "node:crypto";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { hashClientSecret, secretHashesEqual } from "../../src/core/client-secret.js";

// The comparison of secret hashes must take the same time whether they match or not, and
// where they differ: a `===` or Buffer.equals would return at the first differing byte and
// let a stopwatch find a stored hash byte by byte. Node's crypto.timingSafeEqual does not,
// so the test checks that every comparison goes through it, with the two whole hashes.
vi.mock("node:crypto", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:crypto")>();
  return { ...actual, timingSafeEqual: vi.fn((a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => actual.timingSafeEqual(a, b)) };
});

const timingSafeEqual = vi.mocked(crypto.timingSafeEqual);

beforeEach(() => {
  timingSafeEqual.mockClear();
});

describe("secretHashesEqual", () => {
  const a = hashClientSecret("tsec_the-right-secret");
  const b = hashClientSecret("tsec_a-wrong-secret");

  it("compares equal hashes with crypto.timingSafeEqual, over all 32 bytes", () => {
    expect(secretHashesEqual(a, Buffer.from(a))).toBe(true);
    expect(timingSafeEqual).toHaveBeenCalledTimes(1);
    const [x, y] = timingSafeEqual.mock.calls[0]!;
    expect([x.byteLength, y.byteLength]).toStrictEqual([32, 32]);
    expect(Buffer.from(x as Uint8Array).equals(a)).toBe(true);
  });

  it("compares different hashes with crypto.timingSafeEqual too, whatever byte differs", () => {
    for (const i of [0, 15, 31]) {
      const c = Buffer.from(a);
      c[i]! ^= 1;
      expect(secretHashesEqual(a, c)).toBe(false);
    }
    expect(secretHashesEqual(a, b)).toBe(false);
    expect(timingSafeEqual).toHaveBeenCalledTimes(4);
  });
});
