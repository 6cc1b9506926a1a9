import { configDefaults, defineConfig } from "vitest/config";

/**
 * Three tiers, one runner: `npm test` runs them all; `npm run test:unit` (no system service, seconds),
 * `npm run test:integration` (starts redis-server, the S3 server, clamd, ffmpeg on free ports) and
 * `npm run test:browser` (drives Debian's Chromium) run one each. A test file belongs to exactly one
 * tier (test/test-tiers.test.ts checks it): unit tests use in-memory adapters and fakes only.
 */
export const unitTests = [
  "core/src/**/*.test.ts",
  "functions/**/*.test.ts",
  "local/**/*.test.ts",
  "scanner/test/runtime-api.test.ts",
  "test/unit/**/*.test.ts",
  "test/backoff.test.ts",
  "test/bench-plans.test.ts",
  "test/cloudflare-cache-purge.test.ts",
  "test/codec-imports.test.ts",
  "test/docs-tables.test.ts",
  "test/one-owner.test.ts",
  "test/edge-cache-link.test.ts",
  "test/edge-cache.contract.test.ts",
  "test/takedown.test.ts",
  "test/clerk-session-claims.test.ts",
  "test/client-api-client.test.ts",
  "test/client-progress.test.ts",
  "test/client-put-file.test.ts",
  "test/deployed-composition.test.ts",
  "test/repository.test.ts",
  "test/sdk-lambda-transport.test.ts",
  "test/test-tiers.test.ts",
];

/** Core tests that talk to a real clamd, though they sit beside the code they specify. */
export const unitTierExceptions = ["core/src/adapters/lambda/lambda-scanner.test.ts", "core/src/signatures/direct-signature-upload.test.ts"];

export const browserTests = [
  "test/browser.test.ts",
  "test/client.test.ts",
  "test/demo-minisite.test.ts",
  "test/media-browser.test.ts",
  "test/minisite.test.ts",
  "test/multipart-browser.test.ts",
  "test/openapi.test.ts",
  "test/packed-packages.test.ts",
  "test/react-upload.test.ts",
  "test/uppy-upload.test.ts",
  "test/browser/**/*.test.ts",
];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: files run in parallel forks, each starting the servers it needs on free ports.
    pool: "forks",
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: "unit", include: unitTests, exclude: [...configDefaults.exclude, ...unitTierExceptions] } },
      {
        extends: true,
        test: {
          name: "integration",
          include: [...unitTierExceptions, "scanner/**/*.test.ts", "test/**/*.test.ts"],
          // Its core entries are only the clamd exceptions, so the unit tier's core glob is not excluded here.
          exclude: [...configDefaults.exclude, ...unitTests.filter((glob) => !glob.startsWith("core/")), ...browserTests],
        },
      },
      { extends: true, test: { name: "browser", include: browserTests, exclude: [...configDefaults.exclude] } },
    ],
  },
});
