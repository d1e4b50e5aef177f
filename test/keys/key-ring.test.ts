import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from "jose";
import { describe, expect, it } from "vitest";
import { SIGNING_ALGS, type SigningAlg } from "../../src/keys/algorithms.js";
import { KeyRing, RETIRED_KEY_PUBLISH_MS } from "../../src/keys/key-ring.js";
import { jwkThumbprint } from "../../src/keys/thumbprint.js";
import { MemoryStorage } from "../../src/storage/memory/memory-storage.js";
import { SqliteStorage } from "../../src/storage/sqlite/sqlite-storage.js";

const START = Date.parse("2030-01-02T03:04:05.678Z");
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

function fakeClock() {
  const c = { now: START, clock: () => c.now };
  return c;
}

function claims(now: number, extra: object = {}) {
  const iat = Math.floor(now / 1000);
  return { iss: "https://tessera.example", sub: "c1", iat, exp: iat + 300, ...extra };
}

async function verify(ring: KeyRing, token: string, now: number) {
  return jwtVerify(token, createLocalJWKSet(ring.jwks as JSONWebKeySet), {
    issuer: "https://tessera.example",
    typ: "at+jwt",
    currentDate: new Date(now),
  });
}

function otherAlg(alg: SigningAlg): SigningAlg {
  return SIGNING_ALGS[(SIGNING_ALGS.indexOf(alg) + 1) % SIGNING_ALGS.length]!;
}

describe.each(SIGNING_ALGS.map((alg) => [alg]))("KeyRing with %s", (alg) => {
  it("signs tokens that jose verifies against the JWKS; header has alg, typ at+jwt and the kid", async () => {
    const { clock, now } = fakeClock();
    const ring = await KeyRing.open(new MemoryStorage(), alg, clock);
    const token = ring.sign(claims(now, { scope: "read" }));
    const { payload, protectedHeader } = await verify(ring, token, now);
    expect(payload).toEqual(claims(now, { scope: "read" }));
    expect(protectedHeader).toEqual({ alg, typ: "at+jwt", kid: ring.current.kid });
    expect(ring.current.alg).toBe(alg);
    expect(ring.jwks.keys.map((k) => k.kid)).toEqual([ring.current.kid]);
  });

  it("a tampered token does not verify", async () => {
    const { clock, now } = fakeClock();
    const ring = await KeyRing.open(new MemoryStorage(), alg, clock);
    const [h, , s] = ring.sign(claims(now)).split(".");
    const forged = `${h}.${Buffer.from(JSON.stringify(claims(now, { sub: "admin" }))).toString("base64url")}.${s}`;
    await expect(verify(ring, forged, now)).rejects.toThrow();
  });

  it("publishes only public members, with kid = RFC 7638 thumbprint, alg and use sig", async () => {
    const { clock } = fakeClock();
    const ring = await KeyRing.open(new MemoryStorage(), alg, clock);
    const [jwk] = ring.jwks.keys;
    for (const member of PRIVATE_MEMBERS) expect(jwk).not.toHaveProperty(member);
    expect(jwk).toMatchObject({ alg, use: "sig", kid: jwkThumbprint(jwk!) });
    expect(jwk!.kty).toBe(alg === "ES256" ? "EC" : alg === "EdDSA" ? "OKP" : "RSA");
  });

  it("reopening on the same storage with the same alg keeps the kid and adds no key", async () => {
    const { clock, now } = fakeClock();
    const storage = new MemoryStorage();
    const first = await KeyRing.open(storage, alg, clock);
    const token = first.sign(claims(now));
    const again = await KeyRing.open(storage, alg, clock);
    expect(again.current.kid).toBe(first.current.kid);
    expect(await storage.listSigningKeys()).toHaveLength(1);
    // The same private key, not only the same id.
    expect((await verify(again, again.sign(claims(now)), now)).protectedHeader.kid).toBe(first.current.kid);
    expect((await verify(again, token, now)).payload.sub).toBe("c1");
  });

  it(`reopening with another alg (${otherAlg(alg)}): a new current key, the old one still published and verifying`, async () => {
    const c = fakeClock();
    const storage = new MemoryStorage();
    const before = await KeyRing.open(storage, alg, c.clock);
    const oldToken = before.sign(claims(c.now));

    c.now += 1000;
    const next = otherAlg(alg);
    const after = await KeyRing.open(storage, next, c.clock);
    expect(after.current.alg).toBe(next);
    expect(after.current.kid).not.toBe(before.current.kid);
    expect(after.jwks.keys.map((k) => k.kid).sort()).toEqual([before.current.kid, after.current.kid].sort());

    // A token signed before the change still verifies with the new JWKS; new tokens use the new key.
    expect((await verify(after, oldToken, c.now)).protectedHeader).toMatchObject({ alg, kid: before.current.kid });
    const newToken = after.sign(claims(c.now));
    expect(decodeProtectedHeader(newToken)).toEqual({ alg: next, typ: "at+jwt", kid: after.current.kid });
    expect((await verify(after, newToken, c.now)).payload.sub).toBe("c1");

    const stored = await storage.listSigningKeys();
    expect(stored.filter((k) => k.status === "current").map((k) => k.kid)).toEqual([after.current.kid]);
    expect(stored.find((k) => k.kid === before.current.kid)).toMatchObject({ status: "retired", retireTime: c.now });
  });
});

describe("KeyRing key lifetime", () => {
  it(`keeps a retired key published for RETIRED_KEY_PUBLISH_MS after retirement, then drops it on reload`, async () => {
    const c = fakeClock();
    const storage = new MemoryStorage();
    const old = await KeyRing.open(storage, "ES256", c.clock);
    const ring = await KeyRing.open(storage, "EdDSA", c.clock); // retires the ES256 key at START
    expect(RETIRED_KEY_PUBLISH_MS).toBeGreaterThanOrEqual(24 * 3600_000); // outlives the longest token

    c.now = START + RETIRED_KEY_PUBLISH_MS - 1;
    await ring.reload();
    expect(ring.jwks.keys.map((k) => k.kid)).toContain(old.current.kid);

    c.now = START + RETIRED_KEY_PUBLISH_MS;
    await ring.reload();
    expect(ring.jwks.keys.map((k) => k.kid)).toEqual([ring.current.kid]);
  });

  it("reload picks up a key another process installed on the same storage", async () => {
    const c = fakeClock();
    const storage = new MemoryStorage();
    const a = await KeyRing.open(storage, "ES256", c.clock);
    const b = await KeyRing.open(storage, "EdDSA", c.clock);
    expect(a.current.alg).toBe("ES256"); // not yet reloaded
    await a.reload();
    expect(a.current).toEqual(b.current);
    expect(decodeProtectedHeader(a.sign(claims(c.now))).kid).toBe(b.current.kid);
  });

  it("keys survive a restart on SQLite: same kid, and old tokens still verify", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tessera-keys-"));
    try {
      const { clock, now } = fakeClock();
      const path = join(dir, "tessera.db");
      const s1 = SqliteStorage.open(path);
      const first = await KeyRing.open(s1, "PS256", clock);
      const token = first.sign(claims(now));
      await s1.close();

      const s2 = SqliteStorage.open(path);
      try {
        const second = await KeyRing.open(s2, "PS256", clock);
        expect(second.current.kid).toBe(first.current.kid);
        expect((await verify(second, token, now)).payload.sub).toBe("c1");
        expect((await verify(second, second.sign(claims(now)), now)).protectedHeader.kid).toBe(first.current.kid);
      } finally {
        await s2.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
