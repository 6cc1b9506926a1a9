import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["core/src/**/*.test.ts", "functions/**/*.test.ts", "local/**/*.test.ts", "scanner/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: files run in parallel forks, each starting the servers it needs on free ports.
    pool: "forks",
    maxWorkers: 2,
  },
});
