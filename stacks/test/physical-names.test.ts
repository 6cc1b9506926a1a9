/**
 * The longest stage name allowed (MAX_STAGE_LENGTH) synthesises with every physical name inside
 * its limit — names as SST's own naming makes them (the real components, under the harness) — and
 * one character more would give the compliance bucket a 64-character name, which R2 and the
 * handlers' config schema (3–63) refuse.
 */
import { configSchemas } from "@fitkit/core/config";
import { beforeAll, describe, expect, it } from "vitest";
import { MAX_STAGE_LENGTH, resolveStageConfig } from "../stage-config.js";
import { placeholderSecrets } from "./harness/placeholder-secrets.js";
import { ofType, TYPES } from "./harness/queries.js";
import { type Synthesis, synthesize } from "./harness/synthesize.js";

const LONGEST_STAGE = "preview-pr-12345";

let app: Synthesis;

beforeAll(async () => {
  expect(LONGEST_STAGE).toHaveLength(MAX_STAGE_LENGTH);
  app = await synthesize({ stage: LONGEST_STAGE, secrets: placeholderSecrets("https://ci.upstash.io") });
});

const namesOf = (type: string, field = "name") => ofType(app, type).map((resource) => String(resource.inputs[field]));

describe(`a stage name of ${MAX_STAGE_LENGTH} characters`, () => {
  it("is accepted by the stage config", () => {
    expect(() => resolveStageConfig(LONGEST_STAGE, {})).not.toThrow();
  });

  it("gives the four R2 buckets (media, compliance, records, public) names the handlers' config schema accepts (3–63 characters)", () => {
    const names = namesOf(TYPES.r2Bucket);
    expect(names).toHaveLength(4);
    for (const name of names) expect({ name, valid: configSchemas.Bucket.safeParse({ name }).success }).toEqual({ name, valid: true });
    expect(Math.max(...names.map((name) => name.length))).toBe(63);
  });

  it("keeps Lambda, IAM role, schedule (64), S3 bucket (63) and alarm (255) names within their limits", () => {
    const limits: [string, string, number][] = [
      [TYPES.lambda, "name", 64],
      [TYPES.role, "name", 64],
      [TYPES.schedule, "name", 64],
      [TYPES.s3Bucket, "bucket", 63],
      [TYPES.alarm, "name", 255],
      [TYPES.ecrRepository, "name", 256],
    ];
    for (const [type, field, limit] of limits) {
      const names = namesOf(type, field);
      expect(names.length).toBeGreaterThan(0);
      for (const name of names) expect({ type, name, fits: name.length <= limit }).toEqual({ type, name, fits: true });
    }
  });
});

describe(`a stage name of ${MAX_STAGE_LENGTH + 1} characters`, () => {
  it("would make SST name the compliance bucket 64 characters long, so the stage config refuses it", async () => {
    const { physicalName } = await import("../../.sst/platform/src/components/naming.ts");
    const app$ = (globalThis as unknown as { $app: { stage: string } }).$app;
    const stage = app$.stage;
    app$.stage = `${LONGEST_STAGE}6`;
    try {
      // SST's naming rule for cloudflare R2Bucket: field "name", at most 64, lower-cased (components/component.ts).
      expect(String(physicalName(64, "ComplianceBucketBucket")).toLowerCase()).toHaveLength(64);
    } finally {
      app$.stage = stage;
    }
    expect(() => resolveStageConfig(`${LONGEST_STAGE}6`, {})).toThrow(/at most 16 characters/);
  });
});
