import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { gzippedBytes, JS_BUDGET_BYTES } from "../../console/budget.js";

// The console's JavaScript stays small enough for a slow link: the build refuses to finish
// above the budget, and this checks the build that is actually served.

const ASSETS = fileURLToPath(new URL("../../dist/console/assets/", import.meta.url));

describe("the built console", () => {
  it(`ships at most ${JS_BUDGET_BYTES / 1000} KB of JavaScript, gzipped`, () => {
    expect(existsSync(ASSETS), "dist/console is missing: run `npm run build` (npm test does it)").toBe(true);
    const scripts = readdirSync(ASSETS).filter((f) => f.endsWith(".js"));
    expect(scripts.length).toBeGreaterThan(0);
    const total = scripts.reduce((sum, f) => sum + gzippedBytes(readFileSync(join(ASSETS, f))), 0);
    console.log(
      `console JavaScript: ${(total / 1000).toFixed(1)} KB gzipped in ${scripts.length} file(s), budget ${JS_BUDGET_BYTES / 1000} KB`,
    );
    expect(total).toBeLessThanOrEqual(JS_BUDGET_BYTES);
  });
});
