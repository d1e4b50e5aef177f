import { describe, expect, it } from "vitest";
import { KeyReloader } from "../../src/keys/key-reloader.js";

describe("KeyReloader", () => {
  it("reloads the keys only when the change generation has moved since they were loaded", async () => {
    const changes = { generation: 7 };
    let reloads = 0;
    const reloader = new KeyReloader(changes, { reload: async () => void reloads++ });
    expect(await reloader.check()).toBe(false);
    changes.generation = 8;
    expect(await reloader.check()).toBe(true);
    expect(reloads).toBe(1);
    expect(await reloader.check()).toBe(false);
    expect(reloads).toBe(1);
  });

  it("a reload that fails is tried again at the next check, not forgotten", async () => {
    const changes = { generation: 0 };
    let fail = true;
    let reloads = 0;
    const reloader = new KeyReloader(changes, {
      reload: async () => {
        reloads++;
        if (fail) throw new Error("the database cannot be reached");
      },
    });
    changes.generation = 1;
    await expect(reloader.check()).rejects.toThrow("cannot be reached");
    fail = false;
    expect(await reloader.check()).toBe(true);
    expect(reloads).toBe(2);
  });
});
