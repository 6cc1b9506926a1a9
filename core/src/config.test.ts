import { describe, expect, it } from "vitest";
import { ConfigError, configProblems, parseConfig } from "./config.js";

describe("the Redis section", () => {
  it("with nothing configured is an error naming the setting, never the in-memory store", () => {
    expect(() => parseConfig("Redis", {}, "Resource.Redis")).toThrow(ConfigError);
    expect(() => parseConfig("Redis", {}, "Resource.Redis")).toThrow(
      "Invalid configuration — Resource.Redis.restUrl: required: the Upstash REST URL (with restToken), or url for a self-hosted Redis",
    );
  });

  it("takes the in-memory store only when it is asked for explicitly, and then with no Redis settings", () => {
    expect(parseConfig("Redis", { kind: "memory" })).toEqual({ kind: "memory" });
    expect(configProblems("Redis", { kind: "memory", url: "redis://127.0.0.1:6379" }, "Resource.Redis")).toEqual([
      'Resource.Redis.kind: "memory" takes no Redis settings (restUrl, restToken, url)',
    ]);
  });

  it("accepts Upstash (URL and token together) or a self-hosted Redis URL", () => {
    expect(parseConfig("Redis", { restUrl: "https://eu1.upstash.io", restToken: "t" })).toEqual({ restUrl: "https://eu1.upstash.io", restToken: "t" });
    expect(parseConfig("Redis", { url: "rediss://cache:6380" })).toEqual({ url: "rediss://cache:6380" });
    expect(configProblems("Redis", { restUrl: "https://eu1.upstash.io" }, "Resource.Redis")).toEqual(["Resource.Redis: restUrl and restToken go together"]);
  });
});

describe("the UploadSettings section", () => {
  it("names every field that breaks a rule, with the rule", () => {
    expect(
      configProblems("UploadSettings", { presignTtlSeconds: 604_801, stagingGraceSeconds: -1, orgQuotaBytes: 0, scanMaxBytes: 2.5 }, "uploadSettings"),
    ).toEqual([
      "uploadSettings.presignTtlSeconds: must be ≤ 604800 (the SigV4 limit of a presigned URL)",
      "uploadSettings.stagingGraceSeconds: must be ≥ 0",
      "uploadSettings.orgQuotaBytes: must be ≥ 1",
      "uploadSettings.scanMaxBytes: must be a whole number",
    ]);
  });

  it("caps each user's bytes in flight at 2 GiB by default, and keeps a presign's idempotency window within the URL lifetime", () => {
    expect(parseConfig("UploadSettings", {})).toMatchObject({ userInFlightBytes: 2_147_483_648 });
    expect(parseConfig("UploadSettings", {}).presignIdempotencySeconds).toBeUndefined();
    expect(configProblems("UploadSettings", { presignTtlSeconds: 300, presignIdempotencySeconds: 301, userInFlightBytes: 0 }, "uploadSettings")).toEqual([
      "uploadSettings.userInFlightBytes: must be ≥ 1",
      "uploadSettings.presignIdempotencySeconds: must be ≤ presignTtlSeconds (a replay answers with the first answer's URLs)",
    ]);
    expect(configProblems("UploadSettings", { presignTtlSeconds: 300, presignIdempotencySeconds: 300 }, "uploadSettings")).toEqual([]);
  });
});

describe("the PublicMedia section's cache purge", () => {
  const bucket = {
    name: "public-bucket",
    baseUrl: "https://media.fitkit.test/",
    endpoint: "https://a.r2.cloudflarestorage.com",
    accessKeyId: "k",
    secretAccessKey: "s",
  };

  it("is null when not given (nothing caches in front: r2.dev, the local stack)", () => {
    expect(parseConfig("PublicMedia", bucket).cachePurge).toBeNull();
  });

  it("takes a zone id and a token, and names a zone id that is not one", () => {
    const cachePurge = { zoneId: "0123456789abcdef0123456789abcdef", apiToken: "t" };
    expect(parseConfig("PublicMedia", { ...bucket, cachePurge }).cachePurge).toEqual(cachePurge);
    expect(configProblems("PublicMedia", { ...bucket, cachePurge: { zoneId: "media.fitkit.test", apiToken: "t" } }, "Resource.PublicMedia")).toEqual([
      "Resource.PublicMedia.cachePurge.zoneId: must be a Cloudflare zone id (32 hex digits)",
    ]);
  });
});
