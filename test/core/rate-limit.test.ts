import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TokenBuckets } from "../../src/core/rate-limit.js";

// TokenBuckets with explicit times: no clock, no waiting.

const T0 = 1_700_000_000_000;

/** Takes `n` tokens for `key` at `now`; returns each answer (0 = allowed, else ms to wait). */
function takeMany(b: TokenBuckets, key: string, n: number, now: number): number[] {
  return Array.from({ length: n }, () => b.take(key, now));
}

describe("TokenBuckets: burst", () => {
  it("lets a new key take exactly `burst` tokens at once, then refuses", () => {
    const b = new TokenBuckets(2, 3);
    expect(takeMany(b, "client-a", 3, T0)).toEqual([0, 0, 0]);
    expect(b.take("client-a", T0)).toBe(500);
  });

  it("keeps keys apart: one key's burst does not spend another's", () => {
    const b = new TokenBuckets(1, 2);
    expect(takeMany(b, "a", 2, T0)).toEqual([0, 0]);
    expect(b.take("a", T0)).toBeGreaterThan(0);
    expect(takeMany(b, "b", 2, T0)).toEqual([0, 0]);
  });

  it("a burst of 1 allows one request at a time", () => {
    const b = new TokenBuckets(10, 1);
    expect(b.take("k", T0)).toBe(0);
    expect(b.take("k", T0)).toBe(100);
  });
});

describe("TokenBuckets: refill rate", () => {
  it("refills `ratePerSecond` tokens per second: 4/s gives one token every 250 ms", () => {
    const b = new TokenBuckets(4, 3);
    takeMany(b, "k", 3, T0);
    expect(b.take("k", T0 + 125)).toBe(125); // half a token: 125 ms short
    expect(b.take("k", T0 + 250)).toBe(0);
    expect(b.take("k", T0 + 250)).toBe(250);
    expect(b.take("k", T0 + 500)).toBe(0);
  });

  it("never refills above the burst, however long the key was idle", () => {
    const b = new TokenBuckets(5, 3);
    takeMany(b, "k", 3, T0);
    const later = T0 + 24 * 3_600_000;
    expect(takeMany(b, "k", 3, later)).toEqual([0, 0, 0]);
    expect(b.take("k", later)).toBe(200);
  });

  it("handles fractional rates (10 failures per minute = 1/6 per second)", () => {
    const b = new TokenBuckets(10 / 60, 10);
    expect(takeMany(b, "k", 10, T0)).toEqual(Array(10).fill(0));
    expect(b.take("k", T0)).toBe(6000);
    expect(b.take("k", T0 + 6000)).toBe(0);
  });

  it("property: over any schedule, allowed takes never exceed burst + rate x elapsed", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.integer({ min: 0, max: 2000 }), { minLength: 1, maxLength: 300 }),
        (rate, burst, gaps) => {
          const b = new TokenBuckets(rate, burst);
          let now = T0;
          let allowed = 0;
          for (const gap of gaps) {
            now += gap;
            if (b.take("k", now) === 0) allowed += 1;
          }
          expect(allowed).toBeLessThanOrEqual(burst + (rate * (now - T0)) / 1000 + 1e-9);
        },
      ),
    );
  });
});

describe("TokenBuckets: retry time", () => {
  it("answers the exact ms until the next token, rounded up", () => {
    const b = new TokenBuckets(2, 1);
    b.take("k", T0);
    expect(b.take("k", T0)).toBe(500);
    expect(b.take("k", T0 + 250)).toBe(250);
    expect(b.take("k", T0 + 375)).toBe(125);
    // A fraction of a millisecond still answers a whole one (never 0 while refused).
    const slow = new TokenBuckets(0.001, 1);
    slow.take("k", T0);
    expect(slow.take("k", T0 + 999_999)).toBeGreaterThanOrEqual(1);
  });

  it("a refused take does not spend anything: waiting the answered time is enough", () => {
    const b = new TokenBuckets(3, 2);
    takeMany(b, "k", 2, T0);
    let now = T0;
    // Bounded: each refusal says when to come back; coming back then must succeed.
    for (let i = 0; i < 20; i++) {
      const wait = b.take("k", now);
      expect(wait).toBeGreaterThan(0);
      now += wait;
      expect(b.take("k", now)).toBe(0);
    }
  });

  it("property: the answered wait is always enough and never more than 1 ms too long", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 0, max: 5000 }),
        (rate, burst, dt) => {
          const b = new TokenBuckets(rate, burst);
          takeMany(b, "k", burst, T0);
          const wait = b.take("k", T0 + dt);
          if (wait === 0) return;
          const probe = new TokenBuckets(rate, burst);
          takeMany(probe, "k", burst, T0);
          expect(probe.waitFor("k", T0 + dt + wait)).toBe(0);
          if (wait > 1) expect(probe.waitFor("k", T0 + dt + wait - 2)).toBeGreaterThan(0);
        },
      ),
    );
  });

  it("a clock that steps backwards does not throttle a key that had tokens left", () => {
    const b = new TokenBuckets(10 / 60, 10);
    expect(b.take("client", T0)).toBe(0); // one failure, nine left
    const stepped = T0 - 3_600_000;
    expect(b.waitFor("client", stepped)).toBe(0);
    expect(b.take("client", stepped)).toBe(0);
  });
});

describe("TokenBuckets: waitFor", () => {
  it("is 0 for a key never seen and does not create it", () => {
    const b = new TokenBuckets(1, 1, 2);
    b.take("a", T0);
    b.take("b", T0);
    // Looking up many unknown keys must not evict the two throttled ones.
    for (let i = 0; i < 100; i++) expect(b.waitFor(`unknown-${i}`, T0)).toBe(0);
    expect(b.waitFor("a", T0)).toBe(1000);
    expect(b.waitFor("b", T0)).toBe(1000);
  });

  it("reports the wait without spending a token", () => {
    const b = new TokenBuckets(1, 2);
    b.take("k", T0);
    for (let i = 0; i < 10; i++) expect(b.waitFor("k", T0)).toBe(0);
    expect(b.take("k", T0)).toBe(0);
    expect(b.waitFor("k", T0)).toBe(1000);
    expect(b.waitFor("k", T0 + 250)).toBe(750);
    expect(b.waitFor("k", T0 + 1000)).toBe(0);
  });
});

describe("TokenBuckets: bounded key count", () => {
  it("forgets the least recently used key once maxKeys is reached", () => {
    const b = new TokenBuckets(1, 1, 3);
    for (const k of ["a", "b", "c"]) b.take(k, T0);
    b.take("a", T0); // a is now the most recently used
    b.take("d", T0); // evicts b, the least recently used
    expect(b.waitFor("b", T0)).toBe(0); // forgotten: a fresh bucket
    expect(b.waitFor("a", T0)).toBeGreaterThan(0);
    expect(b.waitFor("c", T0)).toBeGreaterThan(0);
    expect(b.waitFor("d", T0)).toBeGreaterThan(0);
  });

  it("holds at most maxKeys however many distinct keys arrive (10,000 keys, max 100)", () => {
    const b = new TokenBuckets(1, 1, 100);
    for (let i = 0; i < 10_000; i++) b.take(`key-${i}`, T0);
    let remembered = 0;
    for (let i = 0; i < 10_000; i++) if (b.waitFor(`key-${i}`, T0) > 0) remembered += 1;
    expect(remembered).toBe(100);
    // The survivors are the last 100.
    for (let i = 9_900; i < 10_000; i++) expect(b.waitFor(`key-${i}`, T0)).toBeGreaterThan(0);
  });

  it("defaults to a bound of 100,000 keys", () => {
    const b = new TokenBuckets(1, 1);
    for (let i = 0; i <= 100_000; i++) b.take(`k${i}`, T0);
    expect(b.waitFor("k0", T0)).toBe(0); // the first one was evicted by the 100,001st
    expect(b.waitFor("k1", T0)).toBeGreaterThan(0);
    expect(b.waitFor("k100000", T0)).toBeGreaterThan(0);
  });
});
