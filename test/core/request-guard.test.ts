import { describe, expect, it } from "vitest";
import { OAuthError } from "../../src/core/errors.js";
import { type GuardLimits, RequestGuard } from "../../src/core/request-guard.js";

const T0 = 1_700_000_000_000;
const OFF: GuardLimits = {
  clientRps: 0,
  clientBurst: 1,
  ipRps: 0,
  ipBurst: 1,
  authFailureLimit: 0,
  authFailureAddressLimit: 0,
  authFailureWindowMs: 60_000,
  revocationLimit: 0,
  revocationWindowMs: 60_000,
};
/** The attacker's address and another one (the real client's). */
const A = "203.0.113.7";
const B = "198.51.100.20";

/** The OAuthError `fn` throws; fails the test when it does not throw one. */
function refusal(fn: () => void): OAuthError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(OAuthError);
    return err as OAuthError;
  }
  return expect.fail("expected the guard to refuse");
}

/**
 * Whether the guard admits what `fn` asks (it returns) rather than refusing it (it throws a
 * temporarily_unavailable OAuthError); anything else it throws is a bug and fails the test.
 */
function admitted(fn: () => void): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    if (err instanceof OAuthError && err.code === "temporarily_unavailable") return false;
    throw err;
  }
}

/** How many of `n` calls of `fn` (given the call's index) the guard admits. */
function timesAdmitted(n: number, fn: (i: number) => void): number {
  let admittedCount = 0;
  for (let i = 0; i < n; i++) if (admitted(() => fn(i))) admittedCount++;
  return admittedCount;
}

const WHY: Record<NonNullable<OAuthError["limit"]>, string> = {
  address: "Too many requests",
  client: "Too many requests",
  auth_failures: "Too many failed authentication attempts for this client from this address",
  auth_failures_address: "Too many failed authentication attempts from this address",
  revocations: "Too many revocations by this client",
};

function expectRefusal(err: OAuthError, limit: NonNullable<OAuthError["limit"]>, seconds: number): void {
  expect(err.code).toBe("temporarily_unavailable");
  expect(err.limit).toBe(limit);
  expect(err.retryAfterSeconds).toBe(seconds);
  expect(err.description).toBe(`${WHY[limit]}; retry in ${seconds}s`);
}

describe("RequestGuard with every limit off", () => {
  it("admits everything: 5,000 requests, failures and all, at one instant", () => {
    const g = new RequestGuard(OFF);
    // Each round: a request from the address, by the client, a failure recorded and checked.
    const rounds = timesAdmitted(5_000, () => {
      g.admitAddress("127.0.0.1", T0);
      g.admitClient("tcl_a", T0);
      g.recordFailure("tcl_a", A, T0);
      g.checkFailures("tcl_a", A, T0);
    });
    expect(rounds).toBe(5_000);
  });
});

describe("RequestGuard: per source address", () => {
  const limits = { ...OFF, ipRps: 1, ipBurst: 2 };

  it("admits a burst from one address, then refuses it with the address limit and a retry time", () => {
    const g = new RequestGuard(limits);
    expect(admitted(() => g.admitAddress("10.0.0.1", T0))).toBe(true);
    expect(admitted(() => g.admitAddress("10.0.0.1", T0))).toBe(true);
    expectRefusal(
      refusal(() => g.admitAddress("10.0.0.1", T0)),
      "address",
      1,
    );
    // Another address is unaffected.
    expect(admitted(() => g.admitAddress("10.0.0.2", T0))).toBe(true);
    // One second later one more request is admitted.
    expect(admitted(() => g.admitAddress("10.0.0.1", T0 + 1000))).toBe(true);
    expectRefusal(
      refusal(() => g.admitAddress("10.0.0.1", T0 + 1000)),
      "address",
      1,
    );
  });

  it("admits requests without a known address (no socket address): nothing to key on", () => {
    const g = new RequestGuard(limits);
    expect(timesAdmitted(100, () => g.admitAddress(undefined, T0))).toBe(100);
  });

  it("rounds a sub-second wait up to 1 s and longer waits up to whole seconds", () => {
    const g = new RequestGuard({ ...OFF, ipRps: 4, ipBurst: 1 });
    expect(admitted(() => g.admitAddress("a", T0))).toBe(true);
    expectRefusal(
      refusal(() => g.admitAddress("a", T0)),
      "address",
      1,
    ); // 250 ms
    const slow = new RequestGuard({ ...OFF, ipRps: 1, ipBurst: 1 });
    expect(admitted(() => slow.admitAddress("a", T0))).toBe(true);
    expectRefusal(
      refusal(() => slow.admitAddress("a", T0 + 1)),
      "address",
      1,
    ); // 999 ms
  });
});

describe("RequestGuard: per authenticated client", () => {
  it("admits clientBurst requests, then refuses with the client limit; other clients are unaffected", () => {
    const g = new RequestGuard({ ...OFF, clientRps: 2, clientBurst: 3 });
    expect(timesAdmitted(3, () => g.admitClient("tcl_a", T0))).toBe(3);
    expectRefusal(
      refusal(() => g.admitClient("tcl_a", T0)),
      "client",
      1,
    );
    expect(timesAdmitted(3, () => g.admitClient("tcl_b", T0))).toBe(3);
    expect(admitted(() => g.admitClient("tcl_a", T0 + 500))).toBe(true);
  });
});

describe("RequestGuard: failed authentications", () => {
  const limits = { ...OFF, authFailureLimit: 3, authFailureWindowMs: 60_000 };

  it("throttles an id after `authFailureLimit` failures, for window/limit seconds, other ids unaffected", () => {
    const g = new RequestGuard(limits);
    for (let i = 0; i < 3; i++) {
      expect(admitted(() => g.checkFailures("tcl_a", A, T0))).toBe(true);
      g.recordFailure("tcl_a", A, T0);
    }
    expectRefusal(
      refusal(() => g.checkFailures("tcl_a", A, T0)),
      "auth_failures",
      20,
    );
    expect(admitted(() => g.checkFailures("tcl_b", A, T0))).toBe(true);
    expect(admitted(() => g.checkFailures("unknown-id", A, T0))).toBe(true);
  });

  it("checking does not count as a failure: a throttled id stays throttled only as long as the window says", () => {
    const g = new RequestGuard(limits);
    for (let i = 0; i < 3; i++) g.recordFailure("tcl_a", A, T0);
    // Hammering while throttled (bounded) must not extend the penalty.
    for (let i = 0; i < 1000; i++) refusal(() => g.checkFailures("tcl_a", A, T0 + i));
    // 1 s left (the rate is 1/20 per second, so rounding may make it 2 s, never more).
    const almost = refusal(() => g.checkFailures("tcl_a", A, T0 + 19_000));
    expect(almost.limit).toBe("auth_failures");
    expect(almost.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(almost.retryAfterSeconds).toBeLessThanOrEqual(2);
    expect(admitted(() => g.checkFailures("tcl_a", A, T0 + 20_000))).toBe(true);
  });

  it("recovers fully after the window: the whole allowance is back", () => {
    const g = new RequestGuard(limits);
    for (let i = 0; i < 3; i++) g.recordFailure("tcl_a", A, T0);
    const later = T0 + 60_000;
    for (let i = 0; i < 3; i++) {
      expect(admitted(() => g.checkFailures("tcl_a", A, later))).toBe(true);
      g.recordFailure("tcl_a", A, later);
    }
    refusal(() => g.checkFailures("tcl_a", A, later));
  });

  it("treats an unknown id exactly like a real one (keys are the id as presented)", () => {
    const g = new RequestGuard(limits);
    for (const id of ["tcl_real", "tcl_never_created"]) for (let i = 0; i < 3; i++) g.recordFailure(id, A, T0);
    const a = refusal(() => g.checkFailures("tcl_real", A, T0));
    const b = refusal(() => g.checkFailures("tcl_never_created", A, T0));
    expect({ ...a, message: a.message }).toStrictEqual({ ...b, message: b.message });
  });

  it("bounds the key: a 10 KB id is throttled under its first 128 characters", () => {
    const g = new RequestGuard(limits);
    const prefix = "x".repeat(128);
    for (let i = 0; i < 3; i++) g.recordFailure(prefix + "a".repeat(10_000), A, T0);
    expectRefusal(
      refusal(() => g.checkFailures(prefix + "b".repeat(10_000), A, T0)),
      "auth_failures",
      20,
    );
    expect(admitted(() => g.checkFailures("x".repeat(127), A, T0))).toBe(true);
  });

  it("ids are case-sensitive: TCL_A is not tcl_a", () => {
    const g = new RequestGuard(limits);
    for (let i = 0; i < 3; i++) g.recordFailure("tcl_a", A, T0);
    expect(admitted(() => g.checkFailures("TCL_A", A, T0))).toBe(true);
  });

  it("never refuses the id from another address, however many failures come from the first", () => {
    const g = new RequestGuard(limits);
    for (let i = 0; i < 10_000; i++) g.recordFailure("tcl_admin", A, T0);
    expectRefusal(
      refusal(() => g.checkFailures("tcl_admin", A, T0)),
      "auth_failures",
      20,
    );
    expect(admitted(() => g.checkFailures("tcl_admin", B, T0))).toBe(true);
    expect(admitted(() => g.checkFailures("tcl_admin", undefined, T0))).toBe(true);
  });

  it("counts failures from an address without a known socket address together, apart from every real address", () => {
    const g = new RequestGuard(limits);
    for (let i = 0; i < 3; i++) g.recordFailure("tcl_a", undefined, T0);
    expectRefusal(
      refusal(() => g.checkFailures("tcl_a", undefined, T0)),
      "auth_failures",
      20,
    );
    expect(admitted(() => g.checkFailures("tcl_a", A, T0))).toBe(true);
  });

  it("a limit of 1 per 1 s throttles after one failure for 1 s", () => {
    const g = new RequestGuard({ ...OFF, authFailureLimit: 1, authFailureWindowMs: 1000 });
    g.recordFailure("a", A, T0);
    expectRefusal(
      refusal(() => g.checkFailures("a", A, T0)),
      "auth_failures",
      1,
    );
    expect(admitted(() => g.checkFailures("a", A, T0 + 1000))).toBe(true);
  });
});

describe("RequestGuard: failed authentications per source address, any ids", () => {
  const limits = { ...OFF, authFailureLimit: 3, authFailureAddressLimit: 5, authFailureWindowMs: 60_000 };

  it("refuses an address after 5 failures over any ids, for window/limit seconds; other addresses are unaffected", () => {
    const g = new RequestGuard(limits);
    for (let i = 0; i < 5; i++) {
      expect(admitted(() => g.checkFailures(`tcl_${i}`, A, T0))).toBe(true);
      g.recordFailure(`tcl_${i}`, A, T0);
    }
    expectRefusal(
      refusal(() => g.checkFailures("tcl_fresh", A, T0)),
      "auth_failures_address",
      12,
    );
    expect(admitted(() => g.checkFailures("tcl_fresh", B, T0))).toBe(true);
    expect(admitted(() => g.checkFailures("tcl_0", B, T0))).toBe(true);
    expect(admitted(() => g.checkFailures("tcl_fresh", A, T0 + 12_000))).toBe(true);
  });

  it("the per-id limit still applies under the address limit", () => {
    const g = new RequestGuard(limits);
    for (let i = 0; i < 3; i++) g.recordFailure("tcl_a", A, T0);
    expectRefusal(
      refusal(() => g.checkFailures("tcl_a", A, T0)),
      "auth_failures",
      20,
    );
    expect(admitted(() => g.checkFailures("tcl_b", A, T0))).toBe(true);
  });

  it("works with the per-id limit off", () => {
    const g = new RequestGuard({ ...limits, authFailureLimit: 0 });
    for (let i = 0; i < 5; i++) g.recordFailure("tcl_a", A, T0);
    expectRefusal(
      refusal(() => g.checkFailures("tcl_b", A, T0)),
      "auth_failures_address",
      12,
    );
  });
});

describe("RequestGuard: revocations per client", () => {
  it("admits revocationLimit revocations per window, then refuses with a retry time; other clients are unaffected", () => {
    const g = new RequestGuard({ ...OFF, revocationLimit: 3, revocationWindowMs: 60_000 });
    expect(timesAdmitted(3, () => g.admitRevocation("tcl_a", T0))).toBe(3);
    expectRefusal(
      refusal(() => g.admitRevocation("tcl_a", T0)),
      "revocations",
      20,
    );
    expect(timesAdmitted(3, () => g.admitRevocation("tcl_b", T0))).toBe(3);
    expect(admitted(() => g.admitRevocation("tcl_a", T0 + 20_000))).toBe(true);
  });

  it("is off at 0", () => {
    const g = new RequestGuard(OFF);
    expect(timesAdmitted(10_000, () => g.admitRevocation("tcl_a", T0))).toBe(10_000);
  });
});

describe("RequestGuard limits are independent", () => {
  it("the address limit, the client limit and the failure throttle each keep their own count", () => {
    const g = new RequestGuard({ ...OFF, clientRps: 1, clientBurst: 1, ipRps: 1, ipBurst: 2, authFailureLimit: 1 });
    expect(admitted(() => g.admitAddress("1.1.1.1", T0))).toBe(true);
    expect(admitted(() => g.admitClient("tcl_a", T0))).toBe(true);
    g.recordFailure("tcl_b", A, T0);
    expectRefusal(
      refusal(() => g.admitClient("tcl_a", T0)),
      "client",
      1,
    );
    expectRefusal(
      refusal(() => g.checkFailures("tcl_b", A, T0)),
      "auth_failures",
      60,
    );
    expect(admitted(() => g.checkFailures("tcl_a", A, T0))).toBe(true); // tcl_a's requests are not failures
    expect(admitted(() => g.admitClient("tcl_b", T0))).toBe(true); // tcl_b's failures do not spend its request allowance
    expect(admitted(() => g.admitAddress("1.1.1.1", T0))).toBe(true);
    expectRefusal(
      refusal(() => g.admitAddress("1.1.1.1", T0)),
      "address",
      1,
    );
  });
});
