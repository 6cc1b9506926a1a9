/** The load test and the chaos suite are commands, not timed tests: this only checks their plans are bounded and complete. */
import { describe, expect, it } from "vitest";
import { chaosPlan } from "../bench/chaos.js";
import { loadPlan } from "../bench/load.js";

describe("the load and chaos plans", () => {
  it("the quick load test runs every scenario for a bounded time", () => {
    expect(loadPlan(true)).toEqual({
      quick: true,
      durationMs: 2000,
      concurrency: 8,
      flowConcurrency: 4,
      scenarios: ["router-404", "health", "presign", "signed-urls-10", "flow"],
    });
  });

  it("the chaos suite injects every fault under 10–20 concurrent uploaders", () => {
    for (const quick of [true, false]) {
      const plan = chaosPlan(quick);
      expect(plan.faults).toEqual(["redis-paused-7s", "redis-killed-restarted", "s3-paused-25s", "s3-killed", "stack-sigkill-restarted"]);
      expect(plan.clients).toBeGreaterThanOrEqual(10);
      expect(plan.clients).toBeLessThanOrEqual(20);
    }
  });
});
