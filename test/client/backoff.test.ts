import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backoffDelay, DEFAULT_RETRY_POLICY } from "../../src/client/backoff.js";

describe("backoffDelay: exponential backoff with full jitter", () => {
  it("draws each wait from [0, min(maxDelay, base * 2^(n-1)))", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (retry, r) => {
        const ceiling = Math.min(DEFAULT_RETRY_POLICY.maxDelayMs, DEFAULT_RETRY_POLICY.baseDelayMs * 2 ** (retry - 1));
        const d = backoffDelay(retry, DEFAULT_RETRY_POLICY, () => r);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(ceiling);
      }),
    );
  });

  it("spans the whole range: random 0 gives 0, random near 1 gives nearly the ceiling", () => {
    expect(backoffDelay(3, DEFAULT_RETRY_POLICY, () => 0)).toBe(0);
    expect(backoffDelay(3, DEFAULT_RETRY_POLICY, () => 0.9999)).toBe(799);
    expect(backoffDelay(20, DEFAULT_RETRY_POLICY, () => 0.9999)).toBe(4999);
  });

  it("never waits less than a Retry-After", () => {
    expect(backoffDelay(1, DEFAULT_RETRY_POLICY, () => 0.5, 2_000)).toBe(2_000);
    expect(backoffDelay(6, DEFAULT_RETRY_POLICY, () => 0.9, 10)).toBe(Math.floor(0.9 * 5_000));
  });
});
