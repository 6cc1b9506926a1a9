import { describe, expect, it } from "vitest";
import { callersOf, DEFAULT_UPLOAD_SETTINGS, resolveStageConfig, StageConfigError } from "../stage-config.js";

const ROLE_A = "arn:aws:iam::111111111111:role/records-api";
const ROLE_B = "arn:aws:iam::111111111111:role/admin";

describe("resolveStageConfig", () => {
  it("gives an unlisted stage the development defaults", () => {
    expect(resolveStageConfig("alice", {})).toEqual({
      appOrigins: ["http://localhost:3000"],
      internalCallers: [],
      uploadSettings: DEFAULT_UPLOAD_SETTINGS,
    });
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
        '  - internalCallers: "presign" has an HTTP route and cannot be granted (internal: consume, release, issue-signature-token, usage, set-quota, sweeper, orphan-audit)',
        '  - internalCallers: "consum" is not a function (internal: consume, release, issue-signature-token, usage, set-quota, sweeper, orphan-audit)',
        "  - uploadSettings.presignTtlSeconds: must be ≤ 604800 (the SigV4 limit of a presigned URL)",
        "  - uploadSettings.orgQuotaBytes: must be a whole number",
      ].join("\n"),
    );
  });

  it("rejects stage names that would overflow physical names", () => {
    expect(() => resolveStageConfig("a-very-long-preview-stage-name", {})).toThrow(/at most 22 characters/);
    expect(() => resolveStageConfig("Prod", {})).toThrow(/lower-case/);
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
