/**
 * The production stage as `sst deploy --stage production` resolves it: the real sst.config.ts and
 * the real STAGES entry (no config supplied by the test), with the operator's settings from the
 * environment as the deploying shell would have them. Its data is kept: the compliance lock is the
 * 7-year one, and the buckets and the lock are Pulumi-protected.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { resolveStageConfig, StageConfigError } from "../stage-config.js";
import { placeholderSecrets } from "./harness/placeholder-secrets.js";
import { deployedFunctions, ofType, TYPES, theOne } from "./harness/queries.js";
import { type Synthesis, synthesize } from "./harness/synthesize.js";

const SEVEN_YEARS_SECONDS = (7 * 365 + 2) * 86_400;

/** What an operator sets before deploying production (docs/deploy.md, "Operator settings"). */
const OPERATOR_ENV = {
  FITKIT_APP_ORIGINS: "https://app.fitkit.example",
  FITKIT_PUBLIC_MEDIA_DOMAIN: "media.fitkit.example",
  FITKIT_PUBLIC_MEDIA_ZONE_ID: "0123456789abcdef0123456789abcdef",
  FITKIT_ALARM_EMAILS: "oncall@fitkit.example, platform@fitkit.example",
  FITKIT_INTERNAL_CALLERS: JSON.stringify([{ roleArn: "arn:aws:iam::111111111111:role/fitkit-records-api", functions: ["consume", "release"] }]),
  FITKIT_R2_JURISDICTION: "eu",
};

let app: Synthesis;

beforeAll(async () => {
  Object.assign(process.env, OPERATOR_ENV);
  // No program: the real sst.config.ts resolves the real production config.
  app = await synthesize({ stage: "production", secrets: placeholderSecrets("https://prod.upstash.io") });
});

describe("production, as sst.config.ts resolves it", () => {
  it("uses our production values: the public routes throttled to 10/s, 50 GiB per organisation, logs kept 3 months", () => {
    const stage = theOne(app, TYPES.stage);
    expect(stage.inputs.defaultRouteSettings).toEqual({ throttlingRateLimit: 200, throttlingBurstLimit: 400 });
    expect(new Set(stage.inputs.routeSettings.map((route: { throttlingRateLimit: number }) => route.throttlingRateLimit))).toEqual(new Set([10]));
    const presign = deployedFunctions(app).get("functions/presign.handler");
    expect(presign?.build.links.UploadSettings).toMatchObject({ orgQuotaBytes: 53_687_091_200 });
    const logGroups = ofType(app, TYPES.logGroup).filter((group) => String(group.inputs.name).includes("-production-presign"));
    expect(logGroups.map((group) => group.inputs.retentionInDays)).toEqual([90]);
  });

  it("subscribes the operator's alarm e-mails and serves published media on the operator's domain", () => {
    const topic = theOne(app, TYPES.snsTopic);
    expect(ofType(app, TYPES.snsSubscription).map((s) => ({ topic: s.inputs.topic, endpoint: s.inputs.endpoint }))).toEqual([
      { topic: topic.state.arn, endpoint: "oncall@fitkit.example" },
      { topic: topic.state.arn, endpoint: "platform@fitkit.example" },
    ]);
    expect(theOne(app, TYPES.r2CustomDomain).inputs).toMatchObject({ domain: "media.fitkit.example", zoneId: "0123456789abcdef0123456789abcdef" });
  });

  it("locks records in their own bucket for 7 years (a 7-year span holds at most 2 leap days)", () => {
    expect(theOne(app, TYPES.r2Lock).inputs.rules).toEqual([
      { id: "records-retention-7-years", enabled: true, prefix: "", condition: { type: "Age", maxAgeSeconds: SEVEN_YEARS_SECONDS } },
    ]);
    expect(SEVEN_YEARS_SECONDS).toBeGreaterThanOrEqual(7 * 365.25 * 86_400);
  });

  it("protects the four buckets and the lock, so a replace or delete fails the deploy", () => {
    const r2 = [...ofType(app, TYPES.r2Bucket), theOne(app, TYPES.r2Lock)];
    expect(r2.map((resource) => ({ name: resource.name, protect: resource.options.protect }))).toEqual([
      { name: "MediaBucketBucket", protect: true },
      { name: "ComplianceBucketBucket", protect: true },
      { name: "RecordsBucketBucket", protect: true },
      { name: "PublishedBucket", protect: true },
      { name: "RecordsBucketLock", protect: true },
    ]);
  });
});

describe("production without the operator's settings", () => {
  it("refuses to resolve, naming each missing setting and how to set it — alarm e-mails included", () => {
    const attempt = () => resolveStageConfig("production", undefined, {});
    expect(attempt).toThrow(StageConfigError);
    for (const name of ["FITKIT_APP_ORIGINS", "FITKIT_PUBLIC_MEDIA_DOMAIN", "FITKIT_PUBLIC_MEDIA_ZONE_ID", "FITKIT_ALARM_EMAILS", "FITKIT_R2_JURISDICTION"]) {
      expect(attempt).toThrow(`${name} is required for this stage: set ${name} (`);
    }
  });

  it("refuses an alarm list that is set but empty, and an http origin", () => {
    const attempt = () =>
      resolveStageConfig("production", undefined, { ...OPERATOR_ENV, FITKIT_ALARM_EMAILS: " , ", FITKIT_APP_ORIGINS: "http://app.fitkit.example" });
    expect(attempt).toThrow("FITKIT_ALARM_EMAILS is required for this stage");
    expect(attempt).toThrow('appOrigins: "http://app.fitkit.example" must be https on this stage');
  });
});

describe("production in the EU jurisdiction (FITKIT_R2_JURISDICTION=eu)", () => {
  // Cloudflare R2 "Authentication": buckets created with a jurisdiction are reached only through
  // https://<ACCOUNT_ID>.eu.r2.cloudflarestorage.com; @pulumi/cloudflare 6.15.0 r2bucket.d.ts
  // (and the CORS, lifecycle, lock and domain resources) take `jurisdiction`; a token policy names
  // such a bucket `com.cloudflare.edge.r2.bucket.<account>_eu_<bucket>`.
  const R2_RESOURCES = [TYPES.r2Bucket, TYPES.r2Cors, TYPES.r2Lifecycle, TYPES.r2Lock, TYPES.r2CustomDomain];

  it("creates every bucket, and every rule and domain on them, in the EU jurisdiction", () => {
    const resources = R2_RESOURCES.flatMap((type) => ofType(app, type));
    expect(resources.length).toBeGreaterThan(10);
    expect(resources.filter((resource) => resource.inputs.jurisdiction !== "eu").map((resource) => resource.name)).toEqual([]);
  });

  it("gives every R2 client of the stage the EU endpoint", () => {
    const accountId = placeholderSecrets("").R2AccountId;
    const endpoints = new Set(
      [...deployedFunctions(app).values()].flatMap((fn) =>
        Object.values(fn.build.links).flatMap((link) => ("endpoint" in link ? [String((link as { endpoint: unknown }).endpoint)] : [])),
      ),
    );
    expect(endpoints).toEqual(new Set([`https://${accountId}.eu.r2.cloudflarestorage.com`]));
  });

  it("scopes every R2 token to EU buckets", () => {
    for (const token of ofType(app, TYPES.accountToken)) {
      for (const policy of token.inputs.policies) {
        for (const resource of Object.keys(JSON.parse(policy.resources))) expect(resource).toMatch(/^com\.cloudflare\.edge\.r2\.bucket\.[^_]+_eu_[a-z0-9-]+$/);
      }
    }
  });
});
