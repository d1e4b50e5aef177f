import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { BEGIN, configTable, END } from "../../scripts/docs-config.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const README = readFileSync(join(ROOT, "README.md"), "utf8");

describe("README.md", () => {
  it("has the configuration table generated from the settings (run `npm run docs:config` after changing them)", () => {
    const block = README.slice(README.indexOf(BEGIN) + BEGIN.length + 1, README.indexOf(END));
    expect(block).toBe(configTable());
  });

  it("`npm run docs:config` writes exactly that table into a README whose table is missing", () => {
    const dir = mkdtempSync(join(tmpdir(), "tessera-docs-"));
    try {
      const stale = join(dir, "README.md");
      const start = README.indexOf(BEGIN) + BEGIN.length;
      writeFileSync(stale, `${README.slice(0, start)}\n${README.slice(README.indexOf(END))}`);
      const out = execFileSync("npm", ["run", "--silent", "docs:config", "--", stale], { cwd: ROOT, encoding: "utf8" });
      expect(out).toContain("configuration table rewritten");
      expect(readFileSync(stale, "utf8")).toBe(README);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps its first screen's two commands, and shows the port flag, the database path and the package name", () => {
    const firstScreen = README.split("\n").slice(0, 30).join("\n");
    expect(firstScreen).toContain("npm ci && npm start");
    expect(firstScreen).toContain("npm test");
    expect(README).toContain("npm start -- --port 9000");
    expect(README).toContain("TESSERA_DB=");
    expect(README).toMatch(/^npm install tessera-oauth/m);
    expect(README).not.toMatch(/from "tessera\/(client|verify)"/);
  });
});
