/**
 * The deployed composition root never guesses a staging store: a function whose Redis link carries
 * no settings fails at cold start with an error naming the setting, instead of quietly keeping its
 * staging state in one container's memory. (The local stack asks for memory explicitly; its
 * tests cover that path.)
 */
import type { Context } from "aws-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import { resourceVariables } from "../local/env.js";

const context = { awsRequestId: "req-1", functionName: "usage", getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

beforeAll(() => {
  // A Redis link with no settings: what a deploy with the Upstash secrets missing would deliver.
  Object.assign(process.env, resourceVariables({ Redis: {}, UploadSettings: {} }));
});

describe("a deployed function with no Redis settings", () => {
  it("fails building its staging store with a ConfigError naming Resource.Redis.restUrl", async () => {
    const { stagingStore } = await import("../functions/lib/deps/staging-store.js");

    await expect(stagingStore()).rejects.toThrow(
      "Invalid configuration — Resource.Redis.restUrl: required: the Upstash REST URL (with restToken), or url for a self-hosted Redis",
    );
  });

  it("answers an internal call with an error, never with state from an in-memory store", async () => {
    const { handler } = await import("../functions/usage.js");

    const result = await handler({ orgId: "org_1" }, context);

    expect(result).toEqual({ error: { code: "INTERNAL", message: expect.any(String) } });
  });
});
