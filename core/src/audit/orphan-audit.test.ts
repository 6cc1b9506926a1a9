/** The orphan audit's own rules, on in-memory fakes with a controllable clock (test/orphan-audit.test.ts runs it on real parts). */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MemoryObjectStore } from "../adapters/memory/memory-object-store.js";
import { MemoryStore } from "../adapters/memory/memory-store.js";
import type { NewUpload } from "../uploads/upload.js";
import { type OrphanAuditDeps, runOrphanAudit } from "./orphan-audit.js";

const LIFETIME_SECONDS = 100;
const buckets = { media: "media", compliance: "compliance" };

function setup() {
  let now = 1_800_000_000_000;
  const clock = { now: () => now };
  const store = new MemoryStore(clock);
  const objects = new MemoryObjectStore(clock);
  const deps: OrphanAuditDeps = { uploads: store, links: store, objects, buckets, stagingLifetimeSeconds: LIFETIME_SECONDS, maxUnknownPercent: 5, clock };
  const put = (bucket: string, key: string) => {
    const body = new Uint8Array([1, 2, 3]);
    return objects.put({ bucket, key, body, contentType: "image/jpeg", checksumSha256: createHash("sha256").update(body).digest("base64") });
  };
  const upload = (i: number): NewUpload => ({
    uploadId: `u${i}`,
    ownerType: "progress_photo",
    orgId: "org_1",
    userId: "user_1",
    bucket: "media",
    key: `org_1/progress_photo/user_1/u${i}.jpg`,
    contentType: "image/jpeg",
    size: 3,
  });
  return { store, objects, deps, put, upload, advance: (seconds: number) => (now += seconds * 1000) };
}

describe("runOrphanAudit", () => {
  it("accounts for a processed copy only through a linked original that recorded it", async () => {
    const { store, deps, put, upload, advance } = setup();
    const photo = upload(1);
    await store.stage({ uploads: [photo], lifetimeSeconds: LIFETIME_SECONDS, quota: { orgId: "org_1", defaultQuotaBytes: 1e9 } });
    await put("media", photo.key);
    await store.commitConsume({
      uploadIds: [photo.uploadId],
      owner: { orgId: "org_1", userId: "user_1" },
      ownerType: "progress_photo",
      replayKey: "r",
      stored: { fingerprint: "f", response: "{}" },
      replayTtlSeconds: 60,
      finalObjects: [{ bucket: "media", key: photo.key }],
    });
    const recorded = "variants/org_1/progress_photo/user_1/u1/thumb.webp";
    const stray = "variants/org_1/progress_photo/user_1/u1/old.webp";
    const ofUnknownOriginal = "variants/org_1/progress_photo/user_1/u9/thumb.webp";
    for (const key of [recorded, stray, ofUnknownOriginal]) await put("media", key);
    const variant = (name: string) => ({ key: `variants/org_1/progress_photo/user_1/u1/${name}.webp`, contentType: "image/webp", size: 3 });
    await store.recordMedia(
      { bucket: "media", key: photo.key, orgId: "org_1" },
      {
        status: "ready",
        width: 1,
        height: 1,
        placeholder: "",
        variants: { original: variant("original"), display: variant("display"), thumb: variant("thumb") },
      },
    );
    advance(LIFETIME_SECONDS + 1);

    const report = await runOrphanAudit({ ...deps, maxUnknownPercent: 100 });

    expect(report.orphans.map((o) => o.key)).toEqual([stray, ofUnknownOriginal]);
    expect(report.buckets[0]).toMatchObject({ objects: 4, unknown: 2, orphans: 2 });
  });

  it("deletes at exactly the circuit breaker's share, and nothing just above it", async () => {
    const { store, deps, put, upload, advance } = setup();
    const known = Array.from({ length: 19 }, (_, i) => upload(i));
    await store.stage({ uploads: known, lifetimeSeconds: 3600, quota: { orgId: "org_1", defaultQuotaBytes: 1e9 } });
    for (const u of known) await put("media", u.key);
    await put("media", "stray-1");
    advance(LIFETIME_SECONDS + 1);

    const atLimit = await runOrphanAudit(deps, { delete: true });
    await put("media", "stray-2");
    await put("media", "stray-3");
    advance(LIFETIME_SECONDS + 1);
    // With no floor of orphans, the share alone decides (the default floor is the next test's).
    const above = await runOrphanAudit({ ...deps, breakerMinOrphans: 0 }, { delete: true });

    expect(atLimit).toMatchObject({
      circuitBreakerTripped: false,
      deleted: 1,
      buckets: [
        { objects: 20, unknownPercent: 5 },
        { objects: 0, unknownPercent: 0 },
      ],
    });
    expect(above).toMatchObject({ circuitBreakerTripped: true, deleted: 0, orphanCount: 2, buckets: [{ objects: 21, unknownPercent: 9.52 }, { objects: 0 }] });
  });
});
