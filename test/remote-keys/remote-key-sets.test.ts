import { afterEach, describe, expect, it } from "vitest";
import { KeySetUnavailableError } from "../../src/core/ports/key-sets.js";
import { DEFAULT_KEY_SET_POLICY, RemoteKeySetCache } from "../../src/remote-keys/remote-key-sets.js";
import { type KeyIssuer, newKey, startKeyIssuer } from "../helpers/key-issuer.js";

// The fetch rules for keys published at a URL, against real HTTP servers on loopback: no
// redirects, a size cap, a timeout, one fetch in flight, Cache-Control within bounds, https only
// outside loopback development. The clock is the only thing faked.

const issuers: KeyIssuer[] = [];
afterEach(async () => {
  await Promise.all(issuers.splice(0).map((i) => i.close()));
});

async function published(): Promise<KeyIssuer> {
  const issuer = await startKeyIssuer({ keys: [await newKey("ES256")], jwksPath: "/jwks" });
  issuers.push(issuer);
  return issuer;
}

function cache(now: () => number, timeoutMs = DEFAULT_KEY_SET_POLICY.timeoutMs) {
  return new RemoteKeySetCache(now, { ...DEFAULT_KEY_SET_POLICY, allowHttpLoopback: true, timeoutMs });
}

async function failure(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KeySetUnavailableError);
  return (err as Error).message;
}

describe("fetching a jwks_uri", () => {
  it("does not follow a redirect", async () => {
    const issuer = await published();
    issuer.mode = "redirect";
    expect(await failure(cache(Date.now).keys({ kind: "jwks_uri", uri: issuer.jwksUri }, undefined))).toBe(
      "it answered 302, a redirect, and redirects are not followed",
    );
    expect(issuer.requests("/elsewhere")).toBe(0);
  });

  it("refuses an answer over 256 KiB", async () => {
    const issuer = await published();
    issuer.mode = "huge";
    expect(await failure(cache(Date.now).keys({ kind: "jwks_uri", uri: issuer.jwksUri }, undefined))).toBe(
      "its answer is larger than 262144 bytes",
    );
  });

  it("gives up on a server that does not answer", async () => {
    const issuer = await published();
    issuer.mode = "slow";
    expect(await failure(cache(Date.now, 300).keys({ kind: "jwks_uri", uri: issuer.jwksUri }, undefined))).toBe(
      "it did not answer within 300 ms",
    );
  });

  it("refuses plain http to anything but loopback, even in development", async () => {
    expect(await failure(cache(Date.now).keys({ kind: "jwks_uri", uri: "http://keys.example/jwks" }, undefined))).toMatch(
      /^the URL is refused: /,
    );
  });

  it("sends one request for many concurrent lookups", async () => {
    const issuer = await published();
    const c = cache(Date.now);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => c.keys({ kind: "jwks_uri", uri: issuer.jwksUri }, issuer.keys[0]!.kid)),
    );
    expect(results.every((keys) => keys.length === 1)).toBe(true);
    expect(issuer.requests("/jwks")).toBe(1);
  });

  it("keeps keys as long as max-age says, but at least a minute and at most a day", async () => {
    let now = 1_800_000_000_000;
    const issuer = await published();
    const c = cache(() => now);
    const location = { kind: "jwks_uri", uri: issuer.jwksUri } as const;
    issuer.cacheControl = "max-age=5";
    await c.keys(location, undefined);
    now += 30_000;
    await c.keys(location, undefined);
    expect(issuer.requests("/jwks")).toBe(1);
    now += 31_000;
    await c.keys(location, undefined);
    expect(issuer.requests("/jwks")).toBe(2);

    issuer.cacheControl = "max-age=31536000";
    now += 61_000;
    await c.keys(location, undefined);
    expect(issuer.requests("/jwks")).toBe(3);
    now += 23 * 3_600_000;
    await c.keys(location, undefined);
    expect(issuer.requests("/jwks")).toBe(3);
    now += 3_600_000;
    await c.keys(location, undefined);
    expect(issuer.requests("/jwks")).toBe(4);
  });
});
