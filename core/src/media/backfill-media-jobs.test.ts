/** The backfill's own rules, on in-memory fakes: which keys it considers, and its bounded batches. */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MemoryObjectStore } from "../adapters/memory/memory-object-store.js";
import { MemoryStore } from "../adapters/memory/memory-store.js";
import type { NewUpload } from "../uploads/upload.js";
import { BACKFILL_BATCH_SIZE, backfillMediaJobs } from "./backfill-media-jobs.js";
import type { MediaJob } from "./media-variants.js";

const BODY = Buffer.from("x");
const BODY_SHA256 = createHash("sha256").update(BODY).digest("base64");

const upload = (orgId: string, i: number, contentType = "image/jpeg", extension = "jpg"): NewUpload => ({
  uploadId: `u${i}`,
  ownerType: "progress_photo",
  orgId,
  userId: "user_1",
  bucket: "media",
  key: `${orgId}/progress_photo/user_1/u${i}.${extension}`,
  contentType,
  size: 1,
});

/** Links every upload with no media job (as before processing existed) and stores an object under its key. */
async function linkedWithoutJobs(store: MemoryStore, objects: MemoryObjectStore, uploads: NewUpload[]) {
  await store.stage({ uploads, lifetimeSeconds: 600, quota: { orgId: uploads[0]!.orgId, defaultQuotaBytes: 1e9 } });
  await store.commitConsume({
    uploadIds: uploads.map((u) => u.uploadId),
    owner: { orgId: uploads[0]!.orgId, userId: "user_1" },
    ownerType: "progress_photo",
    replayKey: `replay-${uploads[0]!.orgId}`,
    stored: { fingerprint: "fp", response: "{}" },
    replayTtlSeconds: 60,
    finalObjects: uploads.map((u) => ({ bucket: u.bucket, key: u.key })),
  });
  for (const u of uploads) await objects.put({ bucket: "media", key: u.key, body: BODY, contentType: u.contentType, checksumSha256: BODY_SHA256 });
}

describe("backfillMediaJobs", () => {
  it("schedules every linked image and video of the bucket in batches of at most 100, skipping PDFs and variant keys; a second run schedules nothing", async () => {
    const store = new MemoryStore();
    const objects = new MemoryObjectStore();
    const images = Array.from({ length: 2 * BACKFILL_BATCH_SIZE + 5 }, (_, i) => upload("org_a", i));
    const video = upload("org_a", 999, "video/mp4", "mp4");
    await linkedWithoutJobs(store, objects, [...images, video, upload("org_a", 998, "application/pdf", "pdf")]);
    await linkedWithoutJobs(store, objects, [upload("org_b", 0, "image/heic", "heic")]);
    await objects.put({
      bucket: "media",
      key: "variants/org_a/progress_photo/user_1/u0/thumb.webp",
      body: BODY,
      contentType: "image/webp",
      checksumSha256: BODY_SHA256,
    });
    const batches: number[] = [];
    const variants = {
      scheduleMediaJobs: (jobs: MediaJob[]) => {
        batches.push(jobs.length);
        return store.scheduleMediaJobs(jobs);
      },
    };

    const first = await backfillMediaJobs({ variants, objects, mediaBucket: "media" }, {});
    const second = await backfillMediaJobs({ variants, objects, mediaBucket: "media" }, {});
    const orgB = await backfillMediaJobs({ variants, objects, mediaBucket: "media" }, { orgId: "org_b" });

    expect(first).toEqual({ images: images.length + 2, scheduled: images.length + 2 });
    expect(second).toEqual({ images: images.length + 2, scheduled: 0 });
    expect(orgB).toEqual({ images: 1, scheduled: 0 });
    expect(Math.max(...batches)).toBeLessThanOrEqual(BACKFILL_BATCH_SIZE);
    const claimed = await store.claimMediaJobs({ limit: 10_000, leaseSeconds: 60 });
    expect(claimed).toHaveLength(images.length + 2);
    expect(claimed).toContainEqual({ bucket: "media", key: video.key, contentType: "video/mp4", orgId: "org_a" });
    expect(claimed).toContainEqual({ bucket: "media", key: "org_b/progress_photo/user_1/u0.heic", contentType: "image/heic", orgId: "org_b" });
  });
});
