/**
 * The production stage: its data is kept. The compliance lock is the 7-year one, and the buckets and
 * the lock are Pulumi-protected, so a deploy that would replace or delete them fails instead.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { placeholderSecrets } from "./harness/placeholder-secrets.js";
import { ofType, TYPES, theOne } from "./harness/queries.js";
import { type Synthesis, synthesize } from "./harness/synthesize.js";

const SEVEN_YEARS_SECONDS = (7 * 365 + 2) * 86_400;

let app: Synthesis;

beforeAll(async () => {
  app = await synthesize({
    stage: "production",
    secrets: placeholderSecrets("https://prod.upstash.io"),
    program: async () => {
      const { resolveStageConfig } = await import("../stage-config.js");
      const { createUploadsApp } = await import("../app.js");
      return createUploadsApp(
        resolveStageConfig("production", {
          production: {
            appOrigins: ["https://app.fitkit.example"],
            publicMediaDomain: { domain: "media.fitkit.example", zoneId: "0123456789abcdef0123456789abcdef" },
          },
        }),
      );
    },
  });
});

describe("production", () => {
  it("locks records/ in the compliance bucket for 7 years (a 7-year span holds at most 2 leap days)", () => {
    expect(theOne(app, TYPES.r2Lock).inputs.rules).toEqual([
      { id: "records-retention-7-years", enabled: true, prefix: "records/", condition: { type: "Age", maxAgeSeconds: SEVEN_YEARS_SECONDS } },
    ]);
    expect(SEVEN_YEARS_SECONDS).toBeGreaterThanOrEqual(7 * 365.25 * 86_400);
  });

  it("protects the three buckets and the lock, so a replace or delete fails the deploy", () => {
    const r2 = [...ofType(app, TYPES.r2Bucket), theOne(app, TYPES.r2Lock)];
    expect(r2.map((resource) => ({ name: resource.name, protect: resource.options.protect }))).toEqual([
      { name: "MediaBucketBucket", protect: true },
      { name: "ComplianceBucketBucket", protect: true },
      { name: "PublishedBucket", protect: true },
      { name: "ComplianceBucketLock", protect: true },
    ]);
  });
});
