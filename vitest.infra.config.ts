import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// The wiring tests under stacks/test construct SST's real components from .sst/platform (written
// by `sst install`, see `npm run check:infra`) under Pulumi's unit-test mocks. Kept apart from
// vitest.config.ts so `npm test` never needs .sst/.
const platformModules = fileURLToPath(new URL("./.sst/platform/node_modules/", import.meta.url));

export default defineConfig({
  resolve: {
    // One Pulumi SDK: the platform's. The mocks must be set on the copy its components use.
    alias: {
      "@pulumi/pulumi": `${platformModules}@pulumi/pulumi`,
      // SST's own components build images with it; stacks/scanner.ts too (sst deploy resolves it from the platform).
      "@pulumi/docker-build": `${platformModules}@pulumi/docker-build`,
    },
  },
  test: {
    include: [
      "stacks/test/**/*.test.ts",
      // What a deploy relies on beyond the stack's wiring (issue 24's items 3, 4, 7 and 9): the
      // scanner's definitions (freshclam's config, their age), its image's pins, and takedown at
      // the edge. They run in `npm test` too; here they make check:infra the whole deploy check.
      "scanner/test/definitions.test.ts",
      "scanner/test/definitions-age.test.ts",
      "scanner/test/dockerfile.test.ts",
      "test/takedown.test.ts",
    ],
    // Each file synthesises at most one app: Pulumi's runtime state is per process.
    pool: "forks",
    isolate: true,
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
