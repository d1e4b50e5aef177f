import { describe, expect, it } from "vitest";
import { MemoryStorage } from "../../src/storage/memory/memory-storage.js";
import { clientRecord } from "../helpers/client-record.js";
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
    const record = clientRecord("c1", {
      scopes: [],
      tokenTtlSeconds: 60,
      createTime: 1,
      updateTime: 1,
      secrets: [secret("older", 1), secret("newer", 2)],
    });
    await new MemoryStorage().createClient(record);
    expect(record.secrets.map((s) => s.secretId)).toEqual(["older", "newer"]);
  });
});
