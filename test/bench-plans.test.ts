/** The load test, the chaos suite and the minisite bench are commands, not timed tests: this only checks their plans are bounded and complete. */
import { describe, expect, it } from "vitest";
import { chaosPlan } from "../bench/chaos.js";
import { loadPlan } from "../bench/load.js";
import { minisitePlan } from "../bench/minisite.js";

describe("the load and chaos plans", () => {
  it("the quick load test runs every scenario for a bounded time", () => {
    expect(loadPlan(true)).toEqual({
      quick: true,
      durationMs: 2000,
      concurrency: 8,
      flowConcurrency: 4,
      scenarios: ["router-404", "health", "presign", "signed-urls-10", "flow"],
      rounds: 1,
      memoryStoreWindows: 4,
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

  it("the minisite bench measures the page and its naive build on Lighthouse's mobile preset, 1 run each quick, the median of 3 in full", () => {
    for (const [quick, runs] of [
      [true, 1],
      [false, 3],
    ] as const) {
      expect(minisitePlan(quick)).toMatchObject({
        quick,
        runs,
        pages: ["minisite", "naive"],
        formFactor: "mobile",
        throttlingMethod: "simulate",
        chromeFlags: expect.arrayContaining(["--headless=new", "--no-sandbox"]),
        goals: { lcpNaiveOverMinisiteAtLeast: 2, cls: 0, heroBytesAtMost: 100_000 },
      });
    }
  });
});
