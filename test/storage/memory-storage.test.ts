import { describe, expect, it } from "vitest";
import type { ClientRecord } from "../../src/core/ports/storage.js";
import { MemoryStorage } from "../../src/storage/memory/memory-storage.js";
import { storageConformance } from "./conformance.js";

storageConformance("MemoryStorage", async () => ({ storage: new MemoryStorage(), cleanup: async () => {} }));

describe("MemoryStorage", () => {
  it("createClient does not modify the record it is given", async () => {
    const secret = (secretId: string, createTime: number) => ({
      secretId,
      hash: new Uint8Array(32),
      createTime,
      expireTime: null,
      lastUsedTime: null,
    });
    const record: ClientRecord = {
      clientId: "c1",
      name: "c1",
      scopes: [],
      audiences: [],
      tokenTtlSeconds: 60,
      disabled: false,
      createTime: 1,
      updateTime: 1,
      tokensNotBefore: null,
      scopeCutoffs: [],
      secrets: [secret("older", 1), secret("newer", 2)],
      authMethod: "client_secret",
      keys: [],
      jwksUri: null,
      federatedCredentials: [],
    };
    await new MemoryStorage().createClient(record);
    expect(record.secrets.map((s) => s.secretId)).toEqual(["older", "newer"]);
  });
});
