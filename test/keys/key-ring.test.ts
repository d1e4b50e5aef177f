import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import type { Storage } from "../../src/core/ports/storage.js";
import { SIGNING_ALGS, type SigningAlg } from "../../src/core/signing-algs.js";
import { isWrapped, KekError, parseKek, unwrapKey, wrappedUnder } from "../../src/keys/key-encryption.js";
import { RotationTooSoonError } from "../../src/keys/key-lifecycle.js";
import { KeyRing } from "../../src/keys/key-ring.js";
import { jwkThumbprint } from "../../src/keys/thumbprint.js";
import { MemoryStorage } from "../../src/storage/memory/memory-storage.js";
import { SqliteStorage } from "../../src/storage/sqlite/sqlite-storage.js";
import { rejection } from "../core/rejection.js";
import { DAY, MINUTE, testPolicy } from "./policy.js";

const START = Date.parse("2030-01-02T03:04:05.678Z");
/** Token lifetime in the tests: longer than the prepublish period, shorter than the longest allowed. */
const TTL_S = 3600;
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
const NO_KEK_SENTENCE = "The signing keys are encrypted at rest: set TESSERA_KEK or TESSERA_KEK_FILE to the key-encryption key.";

function fakeClock() {
  const c = { now: START, clock: () => c.now };
  return c;
}

function newKek() {
  return parseKek(randomBytes(32).toString("hex"), "TESSERA_KEK");
}

function open(storage: Storage, alg: SigningAlg, clock: () => number, kek?: ReturnType<typeof newKek>) {
  return KeyRing.open(storage, { policy: testPolicy(alg), clock, kek });
}

function claims(now: number, extra: object = {}) {
  const iat = Math.floor(now / 1000);
  return { iss: "https://tessera.example", sub: "c1", iat, exp: iat + TTL_S, ...extra };
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

async function statuses(storage: Storage) {
  return Object.fromEntries((await storage.listSigningKeys()).map((k) => [k.kid, k.status]));
}

const kids = (ring: KeyRing) => ring.jwks.keys.map((k) => k.kid).sort();

describe.each(SIGNING_ALGS.map((alg) => [alg]))("KeyRing with %s", (alg) => {
  it("signs tokens that jose verifies against the JWKS; header has alg, typ at+jwt and the kid", async () => {
    const { clock, now } = fakeClock();
    const ring = await open(new MemoryStorage(), alg, clock);
    const token = ring.sign(claims(now, { scope: "read" }));
    const { payload, protectedHeader } = await verify(ring, token, now);
    expect(payload).toEqual(claims(now, { scope: "read" }));
    expect(protectedHeader).toEqual({ alg, typ: "at+jwt", kid: ring.current.kid });
    expect(ring.current.alg).toBe(alg);
    // The current key and the next one, published before it signs.
    expect(ring.jwks.keys).toHaveLength(2);
    expect(ring.jwks.keys.map((k) => k.kid)).toContain(ring.current.kid);
    expect(ring.jwks.keys.map((k) => k.alg)).toEqual([alg, alg]);
  });

  it("a tampered token does not verify", async () => {
    const { clock, now } = fakeClock();
    const ring = await open(new MemoryStorage(), alg, clock);
    const [h, , s] = ring.sign(claims(now)).split(".");
    const forged = `${h}.${Buffer.from(JSON.stringify(claims(now, { sub: "admin" }))).toString("base64url")}.${s}`;
    await expect(verify(ring, forged, now)).rejects.toThrow();
  });

  it("publishes only public members, with kid = RFC 7638 thumbprint, alg and use sig", async () => {
    const { clock } = fakeClock();
    const ring = await open(new MemoryStorage(), alg, clock);
    for (const jwk of ring.jwks.keys) {
      for (const member of PRIVATE_MEMBERS) expect(jwk).not.toHaveProperty(member);
      expect(jwk).toMatchObject({ alg, use: "sig", kid: jwkThumbprint(jwk) });
      expect(jwk.kty).toBe(alg === "ES256" ? "EC" : alg === "EdDSA" ? "OKP" : "RSA");
    }
  });

  it("reopening on the same storage with the same alg keeps the kids and adds no key", async () => {
    const { clock, now } = fakeClock();
    const storage = new MemoryStorage();
    const first = await open(storage, alg, clock);
    const token = first.sign(claims(now));
    const stored = await storage.listSigningKeys();
    const again = await open(storage, alg, clock);
    expect(again.current.kid).toBe(first.current.kid);
    expect(await storage.listSigningKeys()).toEqual(stored);
    expect(kids(again)).toEqual(kids(first));
    // The same private key, not only the same id.
    expect((await verify(again, again.sign(claims(now)), now)).protectedHeader.kid).toBe(first.current.kid);
    expect((await verify(again, token, now)).payload.sub).toBe("c1");
  });

  it(`reopening with another alg (${otherAlg(alg)}): the current key keeps signing, only the next key is replaced`, async () => {
    const c = fakeClock();
    const storage = new MemoryStorage();
    const before = await open(storage, alg, c.clock);
    const oldNext = (await storage.listSigningKeys()).find((k) => k.status === "next")!;
    const oldToken = before.sign(claims(c.now));

    c.now += 1000;
    const other = otherAlg(alg);
    const after = await open(storage, other, c.clock);
    expect(after.current).toEqual(before.current);
    const stored = await storage.listSigningKeys();
    const next = stored.find((k) => k.status === "next")!;
    expect(next.alg).toBe(other);
    expect(next.createTime).toBe(c.now);
    // The old next key never signed, so it is dropped rather than retired.
    expect(stored.map((k) => k.kid)).not.toContain(oldNext.kid);
    expect(stored.map((k) => [k.kid, k.status]).sort()).toEqual(
      [
        [before.current.kid, "current"],
        [next.kid, "next"],
      ].sort(),
    );
    expect(kids(after)).toEqual([before.current.kid, next.kid].sort());
    expect(after.jwks.keys.find((k) => k.kid === next.kid)?.alg).toBe(other);

    // Tokens, old and new, are still signed by and verify with the current key.
    expect((await verify(after, oldToken, c.now)).protectedHeader).toMatchObject({ alg, kid: before.current.kid });
    const newToken = after.sign(claims(c.now));
    expect(decodeProtectedHeader(newToken)).toEqual({ alg, typ: "at+jwt", kid: before.current.kid });

    // The next rotation after the prepublish period brings the configured algorithm in.
    c.now += after.policy.prepublishMs;
    expect(await after.maintain({ rotate: true, force: false })).toBe(true);
    expect(after.current).toEqual({ kid: next.kid, alg: other });
    const rotatedToken = after.sign(claims(c.now));
    expect(decodeProtectedHeader(rotatedToken)).toEqual({ alg: other, typ: "at+jwt", kid: next.kid });
    expect((await verify(after, rotatedToken, c.now)).payload.sub).toBe("c1");
    expect((await verify(after, oldToken, c.now)).protectedHeader.kid).toBe(before.current.kid);
    expect((await storage.listSigningKeys()).find((k) => k.kid === before.current.kid)).toMatchObject({
      status: "retired",
      retireTime: c.now,
    });
  });
});

describe("KeyRing key lifetime", () => {
  it("keeps a retired key published for policy.retiredPublishMs after retirement, then drops it on reload", async () => {
    const c = fakeClock();
    const storage = new MemoryStorage();
    const ring = await open(storage, "ES256", c.clock);
    const old = ring.current;
    expect(ring.policy.retiredPublishMs).toBeGreaterThanOrEqual(24 * 3600_000); // outlives the longest token
    const retiredAt = START + ring.policy.prepublishMs;
    c.now = retiredAt;
    expect(await ring.maintain({ rotate: true, force: false })).toBe(true); // retires the first key
    expect(ring.current.kid).not.toBe(old.kid);
    expect(ring.retireTime(old.kid)).toBe(retiredAt);
    expect(ring.retireTime(ring.current.kid)).toBeUndefined();

    c.now = retiredAt + ring.policy.retiredPublishMs - 1;
    await ring.reload();
    expect(ring.jwks.keys.map((k) => k.kid)).toContain(old.kid);
    expect(ring.records.map((k) => k.kid)).toContain(old.kid);

    c.now = retiredAt + ring.policy.retiredPublishMs;
    await ring.reload();
    expect(ring.jwks.keys.map((k) => k.kid)).not.toContain(old.kid);
    expect(ring.jwks.keys.map((k) => k.kid)).toContain(ring.current.kid);
    // Still in storage until maintain() removes it.
    expect(Object.keys(await statuses(storage))).toContain(old.kid);
    await ring.maintain();
    expect(Object.keys(await statuses(storage))).not.toContain(old.kid);
  });

  it("reload picks up a rotation another process made on the same storage", async () => {
    const c = fakeClock();
    const storage = new MemoryStorage();
    const a = await open(storage, "ES256", c.clock);
    const b = await open(storage, "ES256", c.clock);
    const before = a.current;
    await b.maintain({ rotate: true, force: true });
    expect(a.current).toEqual(before); // not yet reloaded
    await a.reload();
    expect(a.current).toEqual(b.current);
    expect(a.current.kid).not.toBe(before.kid);
    expect(kids(a)).toEqual(kids(b));
    expect(decodeProtectedHeader(a.sign(claims(c.now))).kid).toBe(b.current.kid);
  });

  it("keys survive a restart on SQLite: same kid, and old tokens still verify", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tessera-keys-"));
    try {
      const { clock, now } = fakeClock();
      const path = join(dir, "tessera.db");
      const s1 = SqliteStorage.open(path);
      const first = await open(s1, "PS256", clock);
      const token = first.sign(claims(now));
      await s1.close();

      const s2 = SqliteStorage.open(path);
      try {
        const second = await open(s2, "PS256", clock);
        expect(second.current.kid).toBe(first.current.kid);
        expect(kids(second)).toEqual(kids(first));
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

describe("KeyRing rotation", () => {
  it("an on-demand rotation before the prepublish period is refused and changes nothing", async () => {
    const c = fakeClock();
    const storage = new MemoryStorage();
    const ring = await open(storage, "ES256", c.clock);
    const stored = await storage.listSigningKeys();
    c.now += ring.policy.prepublishMs - 1000;
    const err = await rejection(ring.maintain({ rotate: true, force: false }), RotationTooSoonError);
    expect(err.waitMs).toBe(1000);
    expect(await storage.listSigningKeys()).toEqual(stored);
    expect(ring.current.kid).toBe(stored.find((k) => k.status === "current")!.kid);
  });

  it("rotation after the prepublish period: the next key signs, the old one is retired and its tokens verify", async () => {
    const c = fakeClock();
    const storage = new MemoryStorage();
    const ring = await open(storage, "ES256", c.clock);
    const old = ring.current;
    const next = (await storage.listSigningKeys()).find((k) => k.status === "next")!;
    const oldToken = ring.sign(claims(c.now));

    c.now += ring.policy.prepublishMs;
    const early = ring.sign(claims(c.now));
    expect(await ring.maintain({ rotate: true, force: false })).toBe(true);
    // The key that becomes current is the one verifiers have had for the prepublish period.
    expect(ring.current).toEqual({ kid: next.kid, alg: "ES256" });
    const byKid = Object.fromEntries((await storage.listSigningKeys()).map((k) => [k.kid, k]));
    expect(byKid[old.kid]).toMatchObject({ status: "retired", retireTime: c.now });
    expect(byKid[next.kid]).toMatchObject({ status: "current", activateTime: c.now });
    expect(Object.values(byKid).filter((k) => k.status === "next")).toHaveLength(1);
    expect(ring.jwks.keys).toHaveLength(3);

    for (const t of [oldToken, early]) expect((await verify(ring, t, c.now)).protectedHeader.kid).toBe(old.kid);
    const fresh = ring.sign(claims(c.now));
    expect((await verify(ring, fresh, c.now)).protectedHeader.kid).toBe(next.kid);

    // A token of the retired key verifies until its own expiry, well within retiredPublishMs.
    c.now = START + TTL_S * 1000 - 1000;
    await ring.maintain();
    expect((await verify(ring, oldToken, c.now)).protectedHeader.kid).toBe(old.kid);
  });

  it("a scheduled rotation happens on maintain() once the rotation period is over", async () => {
    const c = fakeClock();
    const storage = new MemoryStorage();
    const ring = await open(storage, "ES256", c.clock);
    const old = ring.current;
    c.now += ring.policy.rotationPeriodMs - 1;
    expect(await ring.maintain()).toBe(false);
    expect(ring.current).toEqual(old);
    c.now += 1;
    expect(await ring.maintain()).toBe(true);
    expect(ring.current.kid).not.toBe(old.kid);
  });

  it("the JWKS is never empty and always holds the current key, through rotations and long pauses", async () => {
    const c = fakeClock();
    const storage = new MemoryStorage();
    const ring = await open(storage, "EdDSA", c.clock);
    const signed: Array<{ token: string; kid: string; exp: number }> = [];
    const ROTATE = { rotate: true, force: false };
    const FORCE = { rotate: true, force: true };
    const steps: Array<[number, { rotate: boolean; force: boolean } | undefined]> = [
      [0, undefined],
      [1, FORCE],
      [MINUTE, ROTATE], // too soon: refused
      [31 * MINUTE, ROTATE],
      [2 * DAY, undefined],
      [31 * DAY, undefined], // scheduled rotation
      [10 * MINUTE, FORCE],
      [40 * MINUTE, undefined],
      [400 * DAY, ROTATE],
      [1, undefined],
    ];
    const withdrawn = new Set<string>();
    for (const [advance, request] of steps) {
      c.now += advance;
      const before = ring.current.kid;
      try {
        await ring.maintain(request);
      } catch (err) {
        expect(err).toBeInstanceOf(RotationTooSoonError);
      }
      // A forced rotation withdraws the compromised key: its tokens no longer verify.
      if (request?.force) withdrawn.add(before);
      expect(ring.jwks.keys.length).toBeGreaterThan(0);
      expect(ring.jwks.keys.map((k) => k.kid)).toContain(ring.current.kid);
      const token = ring.sign(claims(c.now));
      signed.push({ token, kid: ring.current.kid, exp: Math.floor(c.now / 1000) + TTL_S });
      // Every token signed so far that is unexpired still verifies, unless its key was withdrawn.
      for (const s of signed) {
        if (withdrawn.has(s.kid)) await expect(verify(ring, s.token, c.now)).rejects.toThrow();
        else if (s.exp * 1000 > c.now) expect((await verify(ring, s.token, c.now)).protectedHeader.kid).toBe(s.kid);
      }
    }
    expect(withdrawn.size).toBe(2);
  });

  it("RS256 -> ES256: after the change and a rotation, tokens of both algorithms verify", async () => {
    const c = fakeClock();
    const storage = new MemoryStorage();
    const rs = await open(storage, "RS256", c.clock);
    const rsToken = rs.sign(claims(c.now));

    c.now += MINUTE;
    const ring = await open(storage, "ES256", c.clock); // a restart with the new configuration
    expect(ring.current.alg).toBe("RS256");
    await expect(ring.maintain({ rotate: true, force: false })).rejects.toBeInstanceOf(RotationTooSoonError);
    const rsToken2 = ring.sign(claims(c.now));

    c.now += ring.policy.prepublishMs;
    expect(await ring.maintain({ rotate: true, force: false })).toBe(true);
    expect(ring.current.alg).toBe("ES256");
    const esToken = ring.sign(claims(c.now));
    expect(decodeProtectedHeader(esToken).alg).toBe("ES256");
    expect(new Set(ring.jwks.keys.map((k) => k.alg))).toEqual(new Set(["RS256", "ES256"]));
    for (const t of [rsToken, rsToken2]) expect((await verify(ring, t, c.now)).protectedHeader.alg).toBe("RS256");
    expect((await verify(ring, esToken, c.now)).protectedHeader.alg).toBe("ES256");
    // The other process still running with the old configuration verifies both after a reload.
    await rs.reload();
    expect((await verify(rs, esToken, c.now)).protectedHeader.alg).toBe("ES256");
    expect(decodeProtectedHeader(rs.sign(claims(c.now))).alg).toBe("ES256");
  });
});

describe("KeyRing with a key-encryption key", () => {
  it("stores every private key wrapped under the KEK, and still signs and verifies", async () => {
    const c = fakeClock();
    const storage = new MemoryStorage();
    const kek = newKek();
    const ring = await open(storage, "ES256", c.clock, kek);
    c.now += ring.policy.prepublishMs;
    await ring.maintain({ rotate: true, force: false }); // a retired key too
    const stored = await storage.listSigningKeys();
    expect(stored.map((k) => k.status).sort()).toEqual(["current", "next", "retired"]);
    for (const k of stored) {
      expect(isWrapped(k.privateKey)).toBe(true);
      expect(wrappedUnder(k.privateKey)).toBe(kek.id);
      expect(k.privateKey).not.toMatch(/"d"/);
      // The public half stays readable for the JWKS.
      expect(JSON.parse(k.publicJwk)).toMatchObject({ kid: k.kid, use: "sig" });
      expect(JSON.parse(unwrapKey(k.privateKey, k.kid, kek))).toHaveProperty("d");
    }
    expect((await verify(ring, ring.sign(claims(c.now)), c.now)).protectedHeader.kid).toBe(ring.current.kid);

    // And a restart with the same KEK signs with the same key.
    const again = await open(storage, "ES256", c.clock, kek);
    expect(again.current).toEqual(ring.current);
  });

  it("opening plain keys with a KEK wraps them all, keeping their kids and signatures", async () => {
    const c = fakeClock();
    const storage = new MemoryStorage();
    const plain = await open(storage, "ES256", c.clock);
    await plain.maintain({ rotate: true, force: true });
    const before = await storage.listSigningKeys();
    expect(before.every((k) => !isWrapped(k.privateKey))).toBe(true);
    const token = plain.sign(claims(c.now));

    const kek = newKek();
    const ring = await open(storage, "ES256", c.clock, kek);
    const after = await storage.listSigningKeys();
    expect(after.map((k) => ({ ...k, privateKey: unwrapKey(k.privateKey, k.kid, kek) }))).toEqual(before);
    for (const k of after) expect(wrappedUnder(k.privateKey)).toBe(kek.id);
    expect(ring.current).toEqual(plain.current);
    expect((await verify(ring, token, c.now)).protectedHeader.kid).toBe(plain.current.kid);
    expect(decodeProtectedHeader(ring.sign(claims(c.now))).kid).toBe(plain.current.kid);
  });

  it("opening wrapped keys without a KEK throws KekError with the operator's sentence and changes nothing", async () => {
    const c = fakeClock();
    const storage = new MemoryStorage();
    await open(storage, "ES256", c.clock, newKek());
    const stored = await storage.listSigningKeys();
    c.now += 40 * DAY; // a rotation would be due: it must not happen either
    const err = await rejection(open(storage, "ES256", c.clock), KekError);
    expect(err.message).toBe(NO_KEK_SENTENCE);
    expect(await storage.listSigningKeys()).toEqual(stored);
  });

  it("opening wrapped keys with the wrong KEK throws KekError naming both KEK ids and changes nothing", async () => {
    const c = fakeClock();
    const storage = new MemoryStorage();
    const right = newKek();
    await open(storage, "ES256", c.clock, right);
    const stored = await storage.listSigningKeys();
    const wrong = newKek();
    c.now += 40 * DAY;
    const err = await rejection(open(storage, "ES256", c.clock, wrong), KekError);
    expect(err.message).toContain(wrong.id);
    expect(err.message).toContain(right.id);
    expect(await storage.listSigningKeys()).toEqual(stored);
  });
});
