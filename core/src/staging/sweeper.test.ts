/** The sweeper's own rules, on in-memory fakes with a controllable clock. */
import { describe, expect, it } from "vitest";
import { MemoryObjectStore } from "../adapters/memory/memory-object-store.js";
import { MemoryStore } from "../adapters/memory/memory-store.js";
import type { NewUpload } from "../uploads/upload.js";
import { emptySweepReport, sweep, TIME_RESERVE_MS, URL_CHECK_CONCURRENCY, URL_SETTLE_SECONDS } from "./sweeper.js";

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

    expect(report).toEqual({ ...emptySweepReport(), claimed: 3, deleted: 3 });
    expect(store.deadlines.size).toBe(0);
  });
});

describe("sweep: early release after the URL expired", () => {
  async function urlExpired(count: number) {
    const store = new MemoryStore(clock);
    await store.stage({
      uploads: Array.from({ length: count }, (_, i) => upload(i)),
      lifetimeSeconds: 3600,
      urlLifetimeSeconds: 60,
      quota: { orgId: "org_1", defaultQuotaBytes: 1e9 },
    });
    now += (60 + URL_SETTLE_SECONDS) * 1000;
    return store;
  }

  it("asks storage about at most URL_CHECK_CONCURRENCY uploads at once, and abandons those with no object", async () => {
    const store = await urlExpired(50);
    const objects = new MemoryObjectStore();
    let inFlight = 0;
    let maxInFlight = 0;
    const head = objects.head.bind(objects);
    objects.head = async (bucket, key) => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 2));
      inFlight -= 1;
      return head(bucket, key);
    };

    const report = await sweep({ store, objects, complianceBucket: "compliance" });

    expect(report).toMatchObject({ urlChecked: 50, abandoned: 50, abandonedBytes: 50, urlRemaining: 0, claimed: 0 });
    expect(maxInFlight).toBe(URL_CHECK_CONCURRENCY);
    expect(await store.usage("org_1", 1e9)).toMatchObject({ reserved: 0 });
  });

  it("a storage check that fails gives nothing back and is asked again after the lease", async () => {
    const store = await urlExpired(2);
    const objects = new MemoryObjectStore();
    const head = objects.head.bind(objects);
    let failing = true;
    objects.head = (bucket, key) => (failing ? Promise.reject(new Error("storage down")) : head(bucket, key));

    const first = await sweep({ store, objects, complianceBucket: "compliance", leaseSeconds: 60 });
    failing = false;
    const leased = await sweep({ store, objects, complianceBucket: "compliance", leaseSeconds: 60 });
    now += 61_000;
    const retried = await sweep({ store, objects, complianceBucket: "compliance", leaseSeconds: 60 });

    expect(first).toMatchObject({ urlChecked: 0, abandoned: 0, failed: 2, failures: { HeadFailed: 2 } });
    expect(leased).toMatchObject({ urlChecked: 0, abandoned: 0 });
    expect(retried).toMatchObject({ urlChecked: 2, abandoned: 2, failed: 0 });
  });
});
