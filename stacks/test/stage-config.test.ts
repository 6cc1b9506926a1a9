import { describe, expect, it } from "vitest";
import {
  callersOf,
  DEFAULT_API_THROTTLE,
  DEFAULT_UPLOAD_SETTINGS,
  resolveStageConfig,
  STAGING_RULE_MARGIN_SECONDS,
  StageConfigError,
} from "../stage-config.js";
import { ABORT_MULTIPART_AFTER_SECONDS, STAGED_MEDIA_EXPIRY_SECONDS } from "../storage.js";

const ROLE_A = "arn:aws:iam::111111111111:role/records-api";
const ROLE_B = "arn:aws:iam::111111111111:role/admin";

describe("resolveStageConfig", () => {
  it("gives an unlisted stage the development defaults", () => {
    expect(resolveStageConfig("alice", {})).toEqual({
      appOrigins: ["http://localhost:3000"],
      publicMediaDomain: null,
      internalCallers: [],
      throttle: DEFAULT_API_THROTTLE,
      alarmEmails: [],
      uploadSettings: DEFAULT_UPLOAD_SETTINGS,
      r2Jurisdiction: "default",
      logRetention: "1 month",
    });
  });

  it("takes the operator's values from FITKIT_* settings, over the stage's entry", () => {
    const config = resolveStageConfig(
      "staging",
      { staging: { appOrigins: ["https://old.example.com"], uploadSettings: { orgQuotaBytes: 1024 } } },
      {
        FITKIT_APP_ORIGINS: "https://app.example.com, https://admin.example.com",
        FITKIT_ALARM_EMAILS: "oncall@example.com",
        FITKIT_INTERNAL_CALLERS: JSON.stringify([{ roleArn: ROLE_A, functions: ["consume"] }]),
        FITKIT_R2_JURISDICTION: "eu",
      },
    );
    expect(config).toMatchObject({
      appOrigins: ["https://app.example.com", "https://admin.example.com"],
      alarmEmails: ["oncall@example.com"],
      internalCallers: [{ roleArn: ROLE_A, functions: ["consume"] }],
      r2Jurisdiction: "eu",
      uploadSettings: { orgQuotaBytes: 1024 },
    });
  });

  it("names unreadable operator settings with their fix", () => {
    const attempt = () =>
      resolveStageConfig("staging", {}, { FITKIT_INTERNAL_CALLERS: "consume", FITKIT_R2_JURISDICTION: "us", FITKIT_PUBLIC_MEDIA_DOMAIN: "media.example.com" });
    expect(attempt).toThrow('FITKIT_INTERNAL_CALLERS is not a JSON list of {"roleArn": string, "functions": string[] | "all"}');
    expect(attempt).toThrow('FITKIT_R2_JURISDICTION: "us" is not one of default, eu');
    expect(attempt).toThrow("FITKIT_PUBLIC_MEDIA_ZONE_ID is not set but its pair is: set FITKIT_PUBLIC_MEDIA_ZONE_ID (");
  });

  it("refuses production without a public media domain, and a domain or zone id that is not one", () => {
    const operator = { FITKIT_ALARM_EMAILS: "oncall@example.com", FITKIT_R2_JURISDICTION: "default" };
    expect(() => resolveStageConfig("production", { production: { appOrigins: ["https://app.example.com"] } }, operator)).toThrow(
      /FITKIT_PUBLIC_MEDIA_DOMAIN is required for this stage: set FITKIT_PUBLIC_MEDIA_DOMAIN \(host name/,
    );
    const bad = () => resolveStageConfig("staging", { staging: { publicMediaDomain: { domain: "https://Media.example.com/", zoneId: "zone" } } });
    expect(bad).toThrow('publicMediaDomain.domain: "https://Media.example.com/" is not a lower-case host name like media.example.com');
    expect(bad).toThrow('publicMediaDomain.zoneId: "zone" is not a Cloudflare zone id (32 hex digits)');
    const domain = { domain: "media.example.com", zoneId: "0123456789abcdef0123456789abcdef" };
    expect(
      resolveStageConfig("production", { production: { appOrigins: ["https://app.example.com"], publicMediaDomain: domain } }, operator).publicMediaDomain,
    ).toEqual(domain);
  });

  it("refuses to deploy production without an explicit entry", () => {
    expect(() => resolveStageConfig("production", {})).toThrow(/Stage "production" has no entry in STAGES/);
  });

  it("overrides single upload settings per stage and keeps the other defaults", () => {
    const config = resolveStageConfig("staging", { staging: { uploadSettings: { orgQuotaBytes: 1024, scanMaxBytes: 10 } } });
    expect(config.uploadSettings).toEqual({ ...DEFAULT_UPLOAD_SETTINGS, orgQuotaBytes: 1024, scanMaxBytes: 10 });
  });

  it("names every problem of a bad stage config at once", () => {
    const attempt = () =>
      resolveStageConfig("staging", {
        staging: {
          appOrigins: ["https://app.example.com/", "*"],
          internalCallers: [
            { roleArn: "arn:aws:iam::111111111111:user/bob", functions: "all" },
            { roleArn: ROLE_A, functions: ["presign" as never, "consum" as never] },
          ],
          throttle: { public: { rateLimit: 0, burstLimit: 2.5 } },
          alarmEmails: ["oncall"],
          uploadSettings: { presignTtlSeconds: 700_000, orgQuotaBytes: 1.5 },
        },
      });
    expect(attempt).toThrow(StageConfigError);
    expect(attempt).toThrow(
      [
        'Invalid configuration for stage "staging":',
        '  - appOrigins: "https://app.example.com/" is not an origin like https://app.example.com (no path, no trailing slash, lower-case)',
        '  - appOrigins: "*" is not an origin like https://app.example.com (no path, no trailing slash, lower-case)',
        '  - internalCallers: "arn:aws:iam::111111111111:user/bob" is not an IAM role ARN',
        '  - internalCallers: "presign" has an HTTP route and cannot be granted (internal: consume, release, publish, unpublish, erase-user, erase-org, export-user, issue-signature-token, usage, set-quota, sweeper, orphan-audit)',
        '  - internalCallers: "consum" is not a function (internal: consume, release, publish, unpublish, erase-user, erase-org, export-user, issue-signature-token, usage, set-quota, sweeper, orphan-audit)',
        '  - alarmEmails: "oncall" is not an email address',
        "  - throttle.public.rateLimit: must be > 0 requests per second",
        "  - throttle.public.burstLimit: must be a whole number ≥ 1",
        "  - uploadSettings.presignTtlSeconds: must be ≤ 604800 (the SigV4 limit of a presigned URL)",
        "  - uploadSettings.orgQuotaBytes: must be a whole number",
      ].join("\n"),
    );
  });

  it("rejects stage names that would overflow physical names (16 characters fit, 17 do not)", () => {
    expect(resolveStageConfig("preview-pr-12345", {}).appOrigins).toEqual(["http://localhost:3000"]);
    expect(() => resolveStageConfig("preview-pr-123456", {})).toThrow(/at most 16 characters/);
    expect(() => resolveStageConfig("Prod", {})).toThrow(/lower-case/);
  });

  it("refuses a multipart lifetime the buckets' age rules would cut short, naming both settings and the fix", () => {
    const day = 24 * 3600;
    // The default grace (3600 s) and a day's margin under the 7-day rules: the longest lifetime that fits.
    const longest = STAGED_MEDIA_EXPIRY_SECONDS - STAGING_RULE_MARGIN_SECONDS - DEFAULT_UPLOAD_SETTINGS.stagingGraceSeconds;
    expect(longest).toBe(6 * day - 3600);
    expect(resolveStageConfig("staging", { staging: { uploadSettings: { multipartMaxLifetimeSeconds: longest } } }).uploadSettings).toMatchObject({
      multipartMaxLifetimeSeconds: longest,
    });

    const attempt = () => resolveStageConfig("staging", { staging: { uploadSettings: { multipartMaxLifetimeSeconds: longest + 1 } } });

    expect(attempt).toThrow(StageConfigError);
    expect(attempt).toThrow(
      [
        'Invalid configuration for stage "staging":',
        `  - uploadSettings.multipartMaxLifetimeSeconds: ${longest + 1} s + stagingGraceSeconds 3600 s must end a day (86400 s) before STAGED_MEDIA_EXPIRY_SECONDS (604800 s, stacks/storage.ts), or the staging/ expiry rule would delete a staged upload still in flight: lower multipartMaxLifetimeSeconds to at most ${longest}, or raise STAGED_MEDIA_EXPIRY_SECONDS to at least ${STAGED_MEDIA_EXPIRY_SECONDS + 1}`,
        `  - uploadSettings.multipartMaxLifetimeSeconds: ${longest + 1} s + stagingGraceSeconds 3600 s must end a day (86400 s) before ABORT_MULTIPART_AFTER_SECONDS (604800 s, stacks/storage.ts), or the multipart abort rule would abort an upload still sending parts: lower multipartMaxLifetimeSeconds to at most ${longest}, or raise ABORT_MULTIPART_AFTER_SECONDS to at least ${ABORT_MULTIPART_AFTER_SECONDS + 1}`,
      ].join("\n"),
    );
    // A longer grace counts too (the default lifetime, 1 day, + 5 days and a second): the staged object lives until lifetime + grace.
    expect(() => resolveStageConfig("staging", { staging: { uploadSettings: { stagingGraceSeconds: 5 * day + 1 } } })).toThrow(
      /stagingGraceSeconds 432001 s must end a day \(86400 s\) before STAGED_MEDIA_EXPIRY_SECONDS/,
    );
  });

  it("overrides the throttling per stage, and refuses public routes looser than the rest", () => {
    expect(resolveStageConfig("staging", { staging: { throttle: { public: { rateLimit: 2, burstLimit: 4 } } } }).throttle).toEqual({
      default: DEFAULT_API_THROTTLE.default,
      public: { rateLimit: 2, burstLimit: 4 },
    });
    expect(() => resolveStageConfig("staging", { staging: { throttle: { public: { rateLimit: 500, burstLimit: 40 } } } })).toThrow(
      "throttle.public: must not be looser than throttle.default (the public routes take no session)",
    );
  });
});

describe("callersOf", () => {
  it("lists the roles granted one internal function, including those granted all", () => {
    const config = resolveStageConfig("staging", {
      staging: {
        internalCallers: [
          { roleArn: ROLE_A, functions: ["consume", "release"] },
          { roleArn: ROLE_B, functions: "all" },
        ],
      },
    });
    expect(callersOf(config, "consume")).toEqual([ROLE_A, ROLE_B]);
    expect(callersOf(config, "set-quota")).toEqual([ROLE_B]);
  });
});
