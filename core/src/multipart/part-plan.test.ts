/** The part plan keeps R2's rules: one part size ≥ 5 MiB for all but the last, at most 10 000 parts. */
import { describe, expect, it } from "vitest";
import { partSizeOf, planParts } from "./part-plan.js";

const MiB = 1024 * 1024;

describe("planParts", () => {
  it("cuts a file into parts of the preferred size, the last holding the remainder", () => {
    const plan = planParts(70 * MiB + 3, 8 * MiB);

    expect(plan).toEqual({ partSize: 8 * MiB, partCount: 9 });
    expect(Array.from({ length: 9 }, (_, i) => partSizeOf(plan, 70 * MiB + 3, i + 1))).toEqual([...Array(8).fill(8 * MiB), 6 * MiB + 3]);
  });

  it("never plans parts under 5 MiB, and a small video is one part", () => {
    expect(planParts(3 * MiB, 1 * MiB)).toEqual({ partSize: 5 * MiB, partCount: 1 });
    expect(partSizeOf({ partSize: 5 * MiB, partCount: 1 }, 3 * MiB, 1)).toBe(3 * MiB);
  });

  it("grows the part size in whole MiB so that no file needs more than 10 000 parts", () => {
    const size = 100_000 * MiB + 1;

    const plan = planParts(size, 5 * MiB);

    expect(plan.partSize % MiB).toBe(0);
    expect(plan.partCount).toBeLessThanOrEqual(10_000);
    expect(plan.partSize * plan.partCount).toBeGreaterThanOrEqual(size);
  });
});
