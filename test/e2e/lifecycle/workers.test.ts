import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bootstrap, startTessera, tempDir } from "../../helpers/tessera-process.js";
import { basic } from "../../helpers/test-server.js";

const dir = tempDir("workers");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("tessera serve --workers 2", () => {
  it("runs two processes on one port and one database, both issuing tokens, and stops cleanly", async () => {
    const db = join(dir, "w.db");
    const s = await startTessera({ db, args: ["--workers", "2"] });
    try {
      // Both workers announce themselves: wait for the second worker's line.
      const first = s.listening;
      const second = await s.waitForLog((l) => l.msg === "tessera listening" && l.pid !== first.pid, 30_000);
      expect(second.port).toBe(first.port);
      expect(s.logs.filter((l) => l.msg === "tessera listening")).toHaveLength(2);

      const admin = await bootstrap(db);
      // Fresh connections, so the kernel and cluster spread them over both workers.
      const kids = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const res = await fetch(`${s.url}/oauth/token`, {
          method: "POST",
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            authorization: basic(admin.clientId, admin.clientSecret),
            connection: "close",
          },
          body: "grant_type=client_credentials",
        });
        expect(res.status).toBe(200);
        const token = ((await res.json()) as { access_token: string }).access_token;
        kids.add(JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString()).kid as string);
      }
      expect(kids.size).toBe(1); // one database, one signing key
    } finally {
      expect(await s.stop()).toEqual({ code: 0, signal: null });
    }
  });
});
