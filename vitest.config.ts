import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // End-to-end files start real servers and child processes; two cores.
    maxWorkers: 2,
    // A test in which no assertion ran fails: every branch of a test must check something.
    expect: { requireAssertions: true },
  },
});
