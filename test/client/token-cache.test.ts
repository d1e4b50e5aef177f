import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cacheEntry, cacheKey, DEFAULT_REFRESH_MARGIN_MS } from "../../src/client/token-cache.js";
import { token } from "./fake-endpoint.js";

describe("cacheEntry: when a token is renewed", () => {
  it("renews a one-hour token 5 minutes before expiry", () => {
    const e = cacheEntry(token(3600), 1_000_000, DEFAULT_REFRESH_MARGIN_MS);
    expect(e.expiresAt).toBe(1_000_000 + 3_600_000);
    expect(e.refreshAt).toBe(e.expiresAt - 300_000);
  });

  it("renews a 60-second token after 30 s instead of treating it as already expired", () => {
    const e = cacheEntry(token(60), 0, DEFAULT_REFRESH_MARGIN_MS);
    expect(e.refreshAt).toBe(30_000);
    expect(e.unusableAt).toBe(55_000);
  });

  it("keeps refresh point, last usable moment and expiry in order for any lifetime and margin", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 86_400 }), fc.integer({ min: 0, max: 3_600_000 }), fc.nat(), (ttl, margin, sentAt) => {
        const e = cacheEntry(token(ttl), sentAt, margin);
        expect(e.refreshAt).toBeGreaterThanOrEqual(sentAt + (ttl * 1000) / 2);
        expect(e.refreshAt).toBeLessThanOrEqual(e.unusableAt);
        expect(e.unusableAt).toBeLessThanOrEqual(e.expiresAt);
        expect(e.expiresAt - e.refreshAt).toBe(Math.min(margin, (ttl * 1000) / 2));
      }),
    );
  });
});

describe("cacheKey", () => {
  it("treats scopes and audiences as sets", () => {
    expect(cacheKey("write read", ["b", "a"])).toBe(cacheKey(" read  write read", ["a", "b", "a"]));
    expect(cacheKey(undefined, [])).toBe(cacheKey("", []));
  });

  it("separates different scopes and different audiences", () => {
    expect(cacheKey("read", [])).not.toBe(cacheKey("write", []));
    expect(cacheKey("read", ["a"])).not.toBe(cacheKey("read", ["b"]));
    expect(cacheKey("read", [])).not.toBe(cacheKey("read", ["read"]));
  });
});
