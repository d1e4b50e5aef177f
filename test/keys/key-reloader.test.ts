import { describe, expect, it } from "vitest";
import { KeyReloader } from "../../src/keys/key-reloader.js";

describe("KeyReloader", () => {
  it("reloads the keys only when the database's change token has moved since the last check", async () => {
    let token = 7;
    let reloads = 0;
    const reloader = await KeyReloader.start({ changeToken: async () => token }, { reload: async () => void reloads++ });
    await reloader.check();
    expect(reloads).toBe(0);
    token = 8;
    await reloader.check();
    expect(reloads).toBe(1);
    await reloader.check();
    expect(reloads).toBe(1);
  });
});
