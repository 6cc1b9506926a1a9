/** The sweeper's own rules, on in-memory fakes with a controllable clock. */
import { describe, expect, it } from "vitest";
import { MemoryObjectStore } from "../adapters/memory/memory-object-store.js";
import { MemoryStore } from "../adapters/memory/memory-store.js";
import type { NewUpload } from "../uploads/upload.js";
import { sweep, TIME_RESERVE_MS } from "./sweep.js";

let now = 1_800_000_000_000;
const clock = { now: () => now };
const upload = (i: number): NewUpload => ({
  uploadId: `u${i}`,
  ownerType: "message",
  orgId: "org_1",
  userId: "user_1",
  bucket: "media",
  key: `org_1/message/user_1/u${i}.png`,
  contentType: "image/png",
  size: 1,
});

async function overdue(count: number) {
  const store = new MemoryStore(clock);
  await store.stage({ uploads: Array.from({ length: count }, (_, i) => upload(i)), lifetimeSeconds: 60, quota: { orgId: "org_1", defaultQuotaBytes: 1e9 } });
  now += 61_000;
  return store;
}

describe("sweep", () => {
  it("stops claiming when the invocation is about to run out of time, leaving the rest listed", async () => {
    const store = await overdue(5);
    let left = TIME_RESERVE_MS + 1; // enough for one more batch after the first, not two
    const report = await sweep({ store, objects: new MemoryObjectStore(), complianceBucket: "compliance", batchSize: 2, remainingTimeMs: () => (left -= 1) });

    expect(report).toMatchObject({ claimed: 2, deleted: 2, remaining: 3, oldestOverdueSeconds: 1 });
    expect(store.deadlines.size).toBe(3);
  });

  it("always sweeps one batch, however little time is reported", async () => {
    const store = await overdue(3);
    const report = await sweep({ store, objects: new MemoryObjectStore(), complianceBucket: "compliance", remainingTimeMs: () => 0 });

    expect(report).toEqual({ claimed: 3, deleted: 3, failed: 0, remaining: 0, oldestOverdueSeconds: 0, failures: {} });
    expect(store.deadlines.size).toBe(0);
  });
});
