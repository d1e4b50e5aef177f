import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SigningKeyRecord } from "../../src/core/ports/storage.js";
import type { SigningAlg } from "../../src/core/signing-algs.js";
import { type KeyPolicy, planKeys, type RotationRequest, RotationTooSoonError } from "../../src/keys/key-lifecycle.js";
import { MemoryStorage } from "../../src/storage/memory/memory-storage.js";
import { rejection } from "../core/rejection.js";
import { DAY, HOUR, MINUTE, testPolicy } from "./policy.js";

const T0 = Date.parse("2030-01-02T03:04:05.678Z");
const POLICY = testPolicy("ES256");
const NONE: RotationRequest = { rotate: false, force: false };
const ROTATE: RotationRequest = { rotate: true, force: false };
const FORCE: RotationRequest = { rotate: true, force: true };

/** A key generator without cryptography: kids k1, k2, ... in order of generation. */
function fakeGenerator() {
  let n = 0;
  const calls: Array<[SigningAlg, "current" | "next", number]> = [];
  const generate = (alg: SigningAlg, status: "current" | "next", now: number): SigningKeyRecord => {
    calls.push([alg, status, now]);
    return record(`k${++n}`, status, now, alg);
  };
  return { generate, calls };
}

function record(kid: string, status: SigningKeyRecord["status"], createTime: number, alg = "ES256"): SigningKeyRecord {
  return {
    kid,
    alg,
    privateKey: `{"d":"${kid}"}`,
    publicJwk: `{"kid":"${kid}"}`,
    status,
    createTime,
    activateTime: status === "next" ? null : createTime,
    retireTime: null,
  };
}

function current(kid: string, activateTime: number, alg = "ES256"): SigningKeyRecord {
  return record(kid, "current", activateTime, alg);
}

function next(kid: string, createTime: number, alg = "ES256"): SigningKeyRecord {
  return record(kid, "next", createTime, alg);
}

function retired(kid: string, retireTime: number): SigningKeyRecord {
  return { ...record(kid, "retired", retireTime - DAY), retireTime };
}

/** Applies a plan to a list of keys, as storage would. */
function apply(keys: SigningKeyRecord[], plan: { upsert: SigningKeyRecord[]; remove: string[] }): SigningKeyRecord[] {
  const out = new Map(keys.map((k) => [k.kid, k]));
  for (const kid of plan.remove) out.delete(kid);
  for (const k of plan.upsert) out.set(k.kid, k);
  return [...out.values()].sort((a, b) => a.kid.localeCompare(b.kid));
}

describe("planKeys", () => {
  it("no keys: a current key that signs at once and a next key, both with the configured algorithm", () => {
    const g = fakeGenerator();
    const plan = planKeys([], T0, testPolicy("EdDSA"), g.generate);
    expect(g.calls).toEqual([
      ["EdDSA", "current", T0],
      ["EdDSA", "next", T0],
    ]);
    expect(plan.upsert).toEqual([record("k1", "current", T0, "EdDSA"), record("k2", "next", T0, "EdDSA")]);
    expect(plan.remove).toEqual([]);
    expect(plan.result).toEqual({ rotated: false, current: record("k1", "current", T0, "EdDSA"), withdrawn: [] });
  });

  it("nothing due: an empty plan, no key generated, the current key in the result", () => {
    const g = fakeGenerator();
    const keys = [current("c", T0 - DAY), next("n", T0 - DAY), retired("r", T0 - HOUR)];
    const plan = planKeys(keys, T0, POLICY, g.generate);
    expect(plan).toEqual({ upsert: [], remove: [], result: { rotated: false, current: keys[0], withdrawn: [] } });
    expect(g.calls).toEqual([]);
  });

  it("does not modify the keys it is given", () => {
    const keys = [current("c", T0 - 40 * DAY), next("n", T0 - 40 * DAY), retired("r", T0 - 2 * DAY)];
    const copy = structuredClone(keys);
    planKeys(keys, T0, testPolicy("PS256"), fakeGenerator().generate, FORCE);
    expect(keys).toEqual(copy);
  });

  it("a current key without a next key gets one", () => {
    const g = fakeGenerator();
    const plan = planKeys([current("c", T0 - DAY)], T0, POLICY, g.generate);
    expect(plan.upsert).toEqual([record("k1", "next", T0)]);
    expect(plan.result.rotated).toBe(false);
  });

  it("a next key without a current key signs at once (nothing can have cached a signature yet)", () => {
    const g = fakeGenerator();
    const plan = planKeys([next("n", T0 - MINUTE)], T0, POLICY, g.generate);
    expect(plan.upsert).toEqual([{ ...next("n", T0 - MINUTE), status: "current", activateTime: T0 }, record("k1", "next", T0)]);
    expect(plan.result.current.kid).toBe("n");
  });

  describe("scheduled rotation", () => {
    const activated = T0 - POLICY.rotationPeriodMs;

    it("is due when the current key has signed for rotationPeriodMs: next -> current, current -> retired, a new next", () => {
      const g = fakeGenerator();
      const keys = [current("c", activated), next("n", activated)];
      const plan = planKeys(keys, T0, POLICY, g.generate);
      expect(apply(keys, plan)).toEqual([
        { ...current("c", activated), status: "retired", retireTime: T0 },
        record("k1", "next", T0),
        { ...next("n", activated), status: "current", activateTime: T0 },
      ]);
      expect(plan.remove).toEqual([]);
      expect(plan.result).toEqual({
        rotated: true,
        current: { ...next("n", activated), status: "current", activateTime: T0 },
        withdrawn: [],
      });
    });

    it("is not due one millisecond earlier", () => {
      const keys = [current("c", activated + 1), next("n", activated)];
      expect(planKeys(keys, T0, POLICY, fakeGenerator().generate)).toMatchObject({ upsert: [], remove: [] });
    });

    it("counts from activateTime, not createTime (a promoted key was created long before it signed)", () => {
      const c = { ...current("c", T0 - DAY), createTime: T0 - 60 * DAY };
      const plan = planKeys([c, next("n", T0 - DAY)], T0, POLICY, fakeGenerator().generate);
      expect(plan.result.rotated).toBe(false);
      expect(plan.upsert).toEqual([]);
    });

    it("happens only when the next key has been published for prepublishMs: exactly then, not 1 ms before", () => {
      const ready = [current("c", activated), next("n", T0 - POLICY.prepublishMs)];
      expect(planKeys(ready, T0, POLICY, fakeGenerator().generate).result.rotated).toBe(true);

      const young = [current("c", activated), next("n", T0 - POLICY.prepublishMs + 1)];
      // A scheduled rotation waits for the next key: no error, nothing changes.
      const plan = planKeys(young, T0, POLICY, fakeGenerator().generate);
      expect(plan).toEqual({ upsert: [], remove: [], result: { rotated: false, current: young[0], withdrawn: [] } });
      expect(planKeys(young, T0 + 1, POLICY, fakeGenerator().generate).result.rotated).toBe(true);
    });
  });

  describe("on-demand rotation", () => {
    it("rotates before the schedule when the next key has been published long enough", () => {
      const keys = [current("c", T0 - DAY), next("n", T0 - POLICY.prepublishMs)];
      const plan = planKeys(keys, T0, POLICY, fakeGenerator().generate, ROTATE);
      expect(plan.result).toMatchObject({ rotated: true, current: { kid: "n", status: "current", activateTime: T0 } });
    });

    it("throws RotationTooSoonError with waitMs when the next key is too young", () => {
      const keys = [current("c", T0 - DAY), next("n", T0 - MINUTE)];
      let thrown: unknown;
      try {
        planKeys(keys, T0, POLICY, fakeGenerator().generate, ROTATE);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(RotationTooSoonError);
      const err = thrown as RotationTooSoonError;
      expect(err.waitMs).toBe(POLICY.prepublishMs - MINUTE);
      expect(err.message).toContain(`${(POLICY.prepublishMs - MINUTE) / 1000}s`);
      expect(err.message).toMatch(/force/);
    });

    it("also throws when the rotation is due by schedule as well, instead of silently waiting", () => {
      const keys = [current("c", T0 - 40 * DAY), next("n", T0 - 1)];
      expect(() => planKeys(keys, T0, POLICY, fakeGenerator().generate, ROTATE)).toThrow(RotationTooSoonError);
    });

    it("force withdraws the current and the next key at once and signs with a fresh key, however young the next key is", () => {
      const g = fakeGenerator();
      const young = [current("c", T0 - DAY), next("n", T0 - MINUTE), retired("r", T0 - HOUR)];
      const plan = planKeys(young, T0, POLICY, g.generate, FORCE);
      expect(plan.result).toEqual({ rotated: true, current: record("k1", "current", T0), withdrawn: ["c", "n"] });
      expect(plan.remove.sort()).toEqual(["c", "n"]);
      // A normally retired key stays until its tokens expired: it was not exposed with the others.
      expect(apply(young, plan).map((k) => [k.kid, k.status])).toEqual([
        ["k1", "current"],
        ["k2", "next"],
        ["r", "retired"],
      ]);

      // The same with a next key old enough to sign: it was in the same database as the current one.
      const ready = [current("c", T0 - DAY), next("n", T0 - DAY)];
      expect(planKeys(ready, T0, POLICY, fakeGenerator().generate, FORCE).result).toMatchObject({
        current: { kid: "k1" },
        withdrawn: ["c", "n"],
      });
    });

    it("force with only a current key (a next key generated this round): both go, the generated one never stored", () => {
      const g = fakeGenerator();
      const onlyCurrent = [current("c", T0 - DAY)];
      const plan = planKeys(onlyCurrent, T0, POLICY, g.generate, FORCE);
      expect(plan.result.withdrawn).toEqual(["c"]);
      expect(apply(onlyCurrent, plan).map((k) => [k.kid, k.status])).toEqual([
        ["k2", "current"],
        ["k3", "next"],
      ]);
    });

    it("force on an empty store: a current and a next key, nothing withdrawn", () => {
      const plan = planKeys([], T0, POLICY, fakeGenerator().generate, FORCE);
      expect(plan.result.withdrawn).toEqual([]);
      expect(
        apply([], plan)
          .map((k) => k.status)
          .sort(),
      ).toEqual(["current", "next"]);
    });
  });

  describe("algorithm change", () => {
    it("replaces only the next key: the current key keeps signing until a rotation", () => {
      const g = fakeGenerator();
      const keys = [current("c", T0 - DAY), next("n", T0 - DAY)];
      const plan = planKeys(keys, T0, testPolicy("EdDSA"), g.generate);
      expect(plan.remove).toEqual(["n"]);
      expect(plan.upsert).toEqual([record("k1", "next", T0, "EdDSA")]);
      expect(plan.result).toEqual({ rotated: false, current: keys[0], withdrawn: [] });
    });

    it("a due rotation waits for the replacement next key to be published for prepublishMs", () => {
      const keys = [current("c", T0 - 40 * DAY), next("n", T0 - 40 * DAY)];
      const g = fakeGenerator();
      const plan = planKeys(keys, T0, testPolicy("EdDSA"), g.generate);
      expect(plan.result.rotated).toBe(false);
      const after = apply(keys, plan);
      expect(after.map((k) => [k.kid, k.status, k.alg])).toEqual([
        ["c", "current", "ES256"],
        ["k1", "next", "EdDSA"],
      ]);
      const later = planKeys(after, T0 + POLICY.prepublishMs, testPolicy("EdDSA"), g.generate);
      expect(later.result).toMatchObject({ rotated: true, current: { kid: "k1", alg: "EdDSA" } });
    });

    it("an on-demand rotation right after the change is too soon", () => {
      const keys = [current("c", T0 - DAY), next("n", T0 - DAY)];
      expect(() => planKeys(keys, T0, testPolicy("EdDSA"), fakeGenerator().generate, ROTATE)).toThrow(RotationTooSoonError);
    });
  });

  describe("retired keys", () => {
    it("are removed exactly at retireTime + retiredPublishMs", () => {
      const keys = [current("c", T0 - DAY), next("n", T0 - DAY), retired("r1", T0), retired("r2", T0 + 1)];
      const at = (t: number) => planKeys(keys, t, POLICY, fakeGenerator().generate).remove;
      expect(at(T0 + POLICY.retiredPublishMs - 1)).toEqual([]);
      expect(at(T0 + POLICY.retiredPublishMs)).toEqual(["r1"]);
      expect(at(T0 + POLICY.retiredPublishMs + 1)).toEqual(["r1", "r2"]);
    });

    it("a key retired in this round is kept, however long retiredPublishMs is overdue", () => {
      const keys = [current("c", T0 - 400 * DAY), next("n", T0 - 400 * DAY)];
      const plan = planKeys(keys, T0, POLICY, fakeGenerator().generate);
      expect(plan.remove).toEqual([]);
      expect(apply(keys, plan).find((k) => k.kid === "c")).toMatchObject({ status: "retired", retireTime: T0 });
    });
  });
});

describe("planKeys through storage, property-based", () => {
  const algs: SigningAlg[] = ["ES256", "EdDSA"];
  const policyArb = fc
    .record({
      prepublishMs: fc.integer({ min: 1, max: 2000 }),
      rotationPeriodMs: fc.integer({ min: 1, max: 20_000 }),
      retiredPublishMs: fc.integer({ min: 1, max: 20_000 }),
    })
    .map((p): Omit<KeyPolicy, "alg"> => p);
  const stepArb = fc.record({
    advance: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 40_000 })),
    request: fc.constantFrom<RotationRequest>(NONE, NONE, ROTATE, FORCE, { rotate: false, force: true }),
    alg: fc.constantFrom(...algs),
  });

  it("one current key, at most one next, JWKS never empty, keys published long enough before and after signing", async () => {
    await fc.assert(
      fc.asyncProperty(policyArb, fc.array(stepArb, { minLength: 1, maxLength: 40 }), async (base, steps) => {
        const storage = new MemoryStorage();
        const { generate } = fakeGenerator();
        let now = T0;
        const firstSeen = new Map<string, number>();
        const retiredAt = new Map<string, number>();
        const everCurrent = new Set<string>();
        const withdrawn = new Set<string>();
        let lastCurrent: string | undefined;
        let lastNext: string | undefined;

        const plan = (policy: KeyPolicy, request: RotationRequest) =>
          storage.updateSigningKeys((keys) => planKeys(keys, now, policy, generate, request));

        const check = async (request: RotationRequest, first: boolean) => {
          const keys = await storage.listSigningKeys();
          const policy = { ...base, alg: "ES256" as const };
          const published = keys.filter((k) => k.status !== "retired" || k.retireTime! + policy.retiredPublishMs > now);
          const cur = keys.filter((k) => k.status === "current");
          expect(cur).toHaveLength(1);
          expect(keys.filter((k) => k.status === "next").length).toBeLessThanOrEqual(1);
          expect(published.length).toBeGreaterThan(0);
          for (const k of keys) if (!firstSeen.has(k.kid)) firstSeen.set(k.kid, now);

          const c = cur[0]!;
          const forced = request.rotate && request.force && !first;
          if (c.kid !== lastCurrent) {
            // A new signing key: verifiers must have had it for prepublishMs, unless forced
            // (or the store was empty: then nobody can have cached anything).
            expect(everCurrent.has(c.kid), "a retired key came back").toBe(false);
            expect(c.activateTime).toBe(now);
            if (!first && !request.force) expect(now - firstSeen.get(c.kid)!).toBeGreaterThanOrEqual(base.prepublishMs);
            if (forced) {
              // A compromised key and the next key beside it are withdrawn at once; a fresh key signs.
              expect(c.createTime).toBe(now);
              for (const kid of [lastCurrent, lastNext]) {
                expect(
                  keys.some((k) => k.kid === kid),
                  `${kid} withdrawn`,
                ).toBe(false);
                if (kid !== undefined) withdrawn.add(kid);
              }
            } else if (lastCurrent !== undefined) {
              const old = keys.find((k) => k.kid === lastCurrent);
              // Retired now, not earlier: its last tokens were signed at this time.
              expect(old).toMatchObject({ status: "retired", retireTime: now });
              retiredAt.set(lastCurrent, now);
            }
            everCurrent.add(c.kid);
            lastCurrent = c.kid;
          }
          lastNext = keys.find((k) => k.status === "next")?.kid;
          // A key that ever signed stays published until retiredPublishMs after it retired,
          // unless a forced rotation withdrew it; a withdrawn key never comes back.
          const publishedKids = new Set(published.map((k) => k.kid));
          for (const kid of everCurrent) {
            if (withdrawn.has(kid)) continue;
            const r = retiredAt.get(kid);
            if (r === undefined || now < r + base.retiredPublishMs) expect(publishedKids.has(kid), kid).toBe(true);
          }
          for (const kid of withdrawn)
            expect(
              keys.some((k) => k.kid === kid),
              `${kid} came back`,
            ).toBe(false);
        };

        await plan({ ...base, alg: "ES256" }, NONE); // what KeyRing.open does on a new store
        await check(NONE, true);
        for (const step of steps) {
          now += step.advance;
          const before = await storage.listSigningKeys();
          try {
            await plan({ ...base, alg: step.alg }, step.request);
          } catch (err) {
            expect(err).toBeInstanceOf(RotationTooSoonError);
            expect(step.request).toEqual(ROTATE);
            expect((err as RotationTooSoonError).waitMs).toBeGreaterThan(0);
            expect(await storage.listSigningKeys()).toEqual(before);
          }
          await check(step.request, false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("RotationTooSoonError from storage.updateSigningKeys leaves the store as it was", async () => {
    const storage = new MemoryStorage();
    const { generate } = fakeGenerator();
    await storage.updateSigningKeys((keys) => planKeys(keys, T0, POLICY, generate));
    const before = await storage.listSigningKeys();
    const err = await rejection(
      storage.updateSigningKeys((keys) => planKeys(keys, T0 + MINUTE, testPolicy("EdDSA"), generate, ROTATE)),
      RotationTooSoonError,
    );
    expect(err.waitMs).toBe(POLICY.prepublishMs);
    expect(await storage.listSigningKeys()).toEqual(before);
  });
});
