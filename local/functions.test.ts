import { describe, expect, it } from "vitest";
import { rateToMs } from "./functions.js";

describe("the local stack's schedule timers", () => {
  it("run a rate() schedule at its interval", () => {
    expect(rateToMs("rate(5 minutes)")).toBe(5 * 60_000);
    expect(rateToMs("rate(1 hour)")).toBe(3_600_000);
    expect(rateToMs("rate(2 days)")).toBe(2 * 86_400_000);
  });

  it("refuse a schedule they cannot run rather than skip it", () => {
    expect(() => rateToMs("cron(0 3 * * ? *)")).toThrow("The local stack runs rate(N minutes|hours|days) schedules only, got cron(0 3 * * ? *)");
  });
});
