import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";
import { gzippedBytes, JS_BUDGET_BYTES } from "./budget.js";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** Fails the build when the console's JavaScript, gzipped, exceeds its budget. */
function jsBudget(): Plugin {
  return {
    name: "tessera-js-budget",
    apply: "build",
    generateBundle(_options, bundle) {
      let total = 0;
      for (const file of Object.values(bundle)) {
        if (file.type === "chunk") total += gzippedBytes(file.code);
      }
      const kb = (n: number) => `${(n / 1000).toFixed(1)} KB`;
      if (total > JS_BUDGET_BYTES) {
        this.error(`the console's JavaScript is ${kb(total)} gzipped, over its budget of ${kb(JS_BUDGET_BYTES)}`);
      }
      this.info(`console JavaScript: ${kb(total)} gzipped (budget ${kb(JS_BUDGET_BYTES)})`);
    },
  };
}

// The console is served by Tessera itself at /console (src/transport/http/console-route.ts),
// from dist/console, next to the compiled server.
export default defineConfig({
  root: here("."),
  base: "/console/",
  publicDir: false,
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: here("../dist/console"),
    emptyOutDir: true,
    target: "es2022",
    // Every file is a hashed asset: nothing inlined as a data: URL the CSP would have to allow.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
    sourcemap: false,
  },
  plugins: [jsBudget()],
});
