import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { basic } from "../../helpers/test-server.js";
import { runTessera, spawnServer } from "../../helpers/spawn-server.js";

const dir = mkdtempSync(join(tmpdir(), "tessera-workers-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("tessera serve --workers 2", () => {
  it("runs two processes on one port and one database, both issuing tokens, and stops cleanly", async () => {
    const db = join(dir, "w.db");
    const s = await spawnServer(["--db", db, "--workers", "2"]);
    try {
      // Both workers announce themselves; wait for the second line.
      const end = Date.now() + 10_000;
      while (s.logs.filter((l) => l.msg === "tessera listening").length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      const pids = new Set(s.logs.filter((l) => l.msg === "tessera listening").map((l) => l.pid));
      expect(pids.size).toBe(2);
      expect(new Set(s.logs.filter((l) => l.msg === "tessera listening").map((l) => l.port))).toEqual(new Set([s.port]));

      const b = runTessera(["bootstrap", "--db", db]);
      expect(b.code, b.stderr).toBe(0);
      const admin = JSON.parse(b.stdout) as { client_id: string; client_secret: string };
      // Fresh connections, so the kernel and cluster spread them over both workers.
      const kids = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const res = await fetch(`${s.url}/oauth/token`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(admin.client_id, admin.client_secret), connection: "close" },
          body: "grant_type=client_credentials",
        });
        expect(res.status).toBe(200);
        const token = ((await res.json()) as { access_token: string }).access_token;
        kids.add(JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString()).kid as string);
      }
      expect(kids.size).toBe(1); // one database, one signing key
    } finally {
      expect(await s.stop()).toBe(0);
    }
  });
});
