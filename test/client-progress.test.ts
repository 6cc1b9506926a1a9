/**
 * The client's progress accounting (client/progress.ts) on its own: totals, never backwards (a
 * retry restarts the transport's count at 0), 100% only once storage confirmed every file, and
 * no repeated snapshots.
 */
import { describe, expect, it } from "vitest";
import { ProgressTracker, type UploadProgress } from "../client/progress.js";

function tracker(sizes: number[]) {
  const snapshots: UploadProgress[] = [];
  const progress = new ProgressTracker(
    sizes.map((size, index) => ({ index, size, fileName: `f${index}.png` })),
    (snapshot) => snapshots.push(snapshot),
  );
  return { progress, snapshots };
}

describe("ProgressTracker", () => {
  it("starts with every file queued at 0 of the batch's total", () => {
    const { progress, snapshots } = tracker([100, 300]);

    progress.emit();

    expect(snapshots).toEqual([
      {
        loaded: 0,
        total: 400,
        fraction: 0,
        percent: 0,
        files: [
          { index: 0, fileName: "f0.png", loaded: 0, total: 100, state: "queued", attempt: 0 },
          { index: 1, fileName: "f1.png", loaded: 0, total: 300, state: "queued", attempt: 0 },
        ],
      },
    ]);
  });

  it("never goes backwards when a retry's transport counts from 0 again", () => {
    const { progress, snapshots } = tracker([100]);

    progress.update(0, { state: "uploading", attempt: 1 });
    progress.update(0, { loaded: 60 });
    progress.update(0, { state: "retrying", attempt: 2 });
    progress.update(0, { loaded: 10 });
    progress.update(0, { loaded: 70 });

    expect(snapshots.map((s) => s.loaded)).toEqual([0, 60, 60, 70]);
    expect(snapshots.at(-1)!.files[0]).toMatchObject({ loaded: 70, state: "retrying", attempt: 2 });
  });

  it("keeps one byte back until storage confirms: 100% means stored, not sent", () => {
    const { progress, snapshots } = tracker([100, 100]);

    progress.update(0, { loaded: 100 });
    progress.update(1, { loaded: 100 });
    progress.update(0, { state: "done" });
    const oneStored = snapshots.at(-1)!;
    progress.update(1, { state: "done" });

    expect(snapshots[1]).toMatchObject({ loaded: 198, total: 200, percent: 99 });
    expect(oneStored).toMatchObject({ loaded: 199, percent: 99 });
    expect(oneStored.fraction).toBeLessThan(1);
    expect(snapshots.at(-1)).toMatchObject({ loaded: 200, total: 200, fraction: 1, percent: 100 });
    expect(snapshots.filter((s) => s.percent === 100)).toHaveLength(1);
  });

  it("a done file ignores later reports, and an unchanged state is not reported again", () => {
    const { progress, snapshots } = tracker([50]);

    progress.update(0, { loaded: 20 });
    progress.update(0, { loaded: 20 });
    progress.update(0, { state: "done" });
    progress.update(0, { loaded: 10, state: "retrying" });
    progress.emit();

    expect(snapshots.map((s) => [s.loaded, s.files[0]!.state])).toEqual([
      [20, "queued"],
      [50, "done"],
    ]);
  });

  it("snapshots are copies: the app may keep or change them", () => {
    const { progress, snapshots } = tracker([10]);

    progress.update(0, { loaded: 5 });
    snapshots[0]!.files[0]!.loaded = 999;
    progress.update(0, { loaded: 6 });

    expect(snapshots.map((s) => s.files[0]!.loaded)).toEqual([999, 6]);
    expect(snapshots[1]!.loaded).toBe(6);
  });
});
