import { describe, expect, it } from "vitest";
import { Readiness, type ReadinessDeps, type ReadinessReport } from "../../src/observability/readiness.js";

// The readiness checks with fakes, for the failures the real server cannot be made to show
// (a signing key missing from the published set). test/e2e/ops/probes.test.ts drives GET
// /readyz on the real server (ready, draining, database closed).

function world(over: Partial<ReadinessDeps> = {}) {
  const changes: ReadinessReport[] = [];
  const deps: ReadinessDeps = {
    storage: { listSigningKeys: async () => [] },
    keys: { current: { kid: "k1" }, jwks: { keys: [{ kid: "k0" }, { kid: "k1" }] } },
    draining: () => false,
    onChange: (r) => changes.push(r),
    ...over,
  };
  return { readiness: new Readiness(deps), changes };
}

describe("Readiness", () => {
  it("is ready when the database answers, the signing key is published and no shutdown is under way", async () => {
    const { readiness, changes } = world();
    expect(await readiness.check()).toEqual({ status: "ready", checks: { storage: "ok", signing_key: "ok", shutdown: "ok" } });
    expect(changes).toEqual([]);
  });

  it("names every failed check, and reports a change once, not on every probe", async () => {
    let broken = true;
    const { readiness, changes } = world({
      storage: {
        listSigningKeys: async () => {
          if (broken) throw new Error("SQLITE_IOERR");
          return [];
        },
      },
      keys: { current: { kid: "k9" }, jwks: { keys: [{ kid: "k1" }] } },
    });
    const report = await readiness.check();
    expect(report).toEqual({
      status: "not_ready",
      failed: ["storage", "signing_key"],
      checks: { storage: "the database cannot be read", signing_key: "the signing key is not in the published key set", shutdown: "ok" },
    });
    await readiness.check();
    expect(changes).toHaveLength(1);
    broken = false;
    expect((await readiness.check()).failed).toEqual(["signing_key"]);
    expect(changes).toHaveLength(1);
  });

  it("a key ring without a current key is not ready", async () => {
    const keys = {
      get current(): { kid: string } {
        throw new TypeError("no key");
      },
      jwks: { keys: [] },
    };
    const { readiness } = world({ keys });
    expect((await readiness.check()).checks.signing_key).toBe("no signing key is loaded");
  });
});
