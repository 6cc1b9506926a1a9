/**
 * The contract of the MediaVariants port (and what it adds to LinkedObjects and QuotaLedger), run
 * against every adapter: in-memory, ioredis + real Redis, and the real Upstash client through the
 * bridge onto the same Redis. Objects are linked, and their jobs put in the outbox, by commitConsume.
 */
import type { MediaJob, MediaOutcome, MediaVariants } from "@fitkit/core/media/media-variants";
import type { LinkedObjects } from "@fitkit/core/quotas/linked-objects";
import type { QuotaLedger } from "@fitkit/core/quotas/quota-ledger";
import type { StagingStore } from "@fitkit/core/staging/staging-store";
import type { NewUpload } from "@fitkit/core/uploads/upload";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newUpload, uniqueId } from "./support/fixtures.js";
import { ADAPTERS, RedisBackends } from "./support/staging-adapters.js";

const backends = new RedisBackends();
beforeAll(() => backends.start());
afterAll(() => backends.close());

const DEFAULT_QUOTA = 1_000_000;

const ready = (key: string): Extract<MediaOutcome, { status: "ready" }> => ({
  status: "ready",
  width: 480,
  height: 640,
  placeholder: "3OcRJYB4d3h/iIeHeEh3eIhw+j2w",
  variants: {
    original: { key: `variants/${key}/original.jpg`, contentType: "image/jpeg", size: 300 },
    display: { key: `variants/${key}/display.webp`, contentType: "image/webp", size: 200 },
    thumb: { key: `variants/${key}/thumb.webp`, contentType: "image/webp", size: 100 },
  },
});

describe.each(ADAPTERS)("media variants contract: %s", (adapter) => {
  let media: MediaVariants;
  let staging: StagingStore;
  let links: LinkedObjects;
  let quotas: QuotaLedger;
  beforeAll(() => {
    const instance = backends.store(adapter);
    media = instance;
    staging = instance;
    links = instance;
    quotas = instance;
  });

  /** Stages and consumes `upload` with its media job in the outbox. */
  async function link(upload: NewUpload): Promise<MediaJob> {
    const job: MediaJob = { bucket: upload.bucket, key: upload.key, contentType: upload.contentType, orgId: upload.orgId };
    await staging.stage({ uploads: [upload], lifetimeSeconds: 600, quota: { orgId: upload.orgId, defaultQuotaBytes: DEFAULT_QUOTA } });
    const outcome = await staging.commitConsume({
      uploadIds: [upload.uploadId],
      owner: { orgId: upload.orgId, userId: upload.userId },
      ownerType: upload.ownerType,
      replayKey: uniqueId("replay"),
      stored: { fingerprint: "fp", response: "{}" },
      replayTtlSeconds: 60,
      finalObjects: [{ bucket: upload.bucket, key: upload.key }],
      mediaJobs: [job],
    });
    expect(outcome).toEqual({ ok: true });
    return job;
  }

  it("a linked image is processing until an outcome is recorded; an unlinked one has no state", async () => {
    const orgId = uniqueId("org");
    const [linked, unlinked] = [newUpload({ orgId }), newUpload({ orgId })];
    await link(linked!);

    expect(
      await media.mediaStates([
        { bucket: "media", key: linked!.key },
        { bucket: "media", key: unlinked!.key },
      ]),
    ).toEqual([{ status: "processing" }, null]);
    expect(await media.mediaStates([])).toEqual([]);
  });

  it("records an outcome once, adding the variants' bytes to used once however often it is recorded", async () => {
    const orgId = uniqueId("org");
    const upload = newUpload({ orgId, size: 1000 });
    await link(upload);
    const object = { bucket: "media", key: upload.key, orgId };

    const first = await media.recordMedia(object, ready(upload.key));
    const again = await media.recordMedia(object, ready(upload.key));
    const other = await media.recordMedia(object, { status: "failed", code: "IMAGE_UNREADABLE" });

    expect([first, again, other]).toEqual([
      { linked: true, recorded: true },
      { linked: true, recorded: false },
      { linked: true, recorded: false },
    ]);
    expect(await media.mediaStates([object])).toEqual([ready(upload.key)]);
    expect(await quotas.usage(orgId, DEFAULT_QUOTA)).toEqual({ used: 1600, reserved: 0, quota: DEFAULT_QUOTA });
  });

  it("a failed outcome counts no bytes; an object not linked (or of another org) records nothing", async () => {
    const orgId = uniqueId("org");
    const upload = newUpload({ orgId, size: 50 });
    await link(upload);

    expect(await media.recordMedia({ bucket: "media", key: upload.key, orgId }, { status: "failed", code: "IMAGE_TOO_LARGE" })).toEqual({
      linked: true,
      recorded: true,
    });
    expect(await media.recordMedia({ bucket: "media", key: upload.key, orgId: uniqueId("org") }, ready(upload.key))).toEqual({
      linked: false,
      recorded: false,
    });
    expect(await media.recordMedia({ bucket: "media", key: newUpload({ orgId }).key, orgId }, ready("x"))).toEqual({ linked: false, recorded: false });

    expect(await media.mediaStates([{ bucket: "media", key: upload.key }])).toEqual([{ status: "failed", code: "IMAGE_TOO_LARGE" }]);
    expect((await quotas.usage(orgId, DEFAULT_QUOTA)).used).toBe(50);
  });

  it.each([
    ["with its duration", 3000],
    ["whose container states no duration (null survives the store's encoding)", null],
  ] as const)("a video's outcome %s reads back whole, its copies counted in used and released with it", async (_name, durationMs) => {
    const orgId = uniqueId("org");
    const upload = newUpload({
      orgId,
      size: 5000,
      ownerType: "exercise_comment",
      contentType: "video/mp4",
      key: `${orgId}/exercise_comment/user_test/${uniqueId("v")}.mp4`,
    });
    await link(upload);
    const object = { bucket: "media", key: upload.key };
    const outcome: MediaOutcome = {
      status: "ready",
      width: 1080,
      height: 1920,
      durationMs,
      placeholder: "3OcRJYB4d3h/iIeHeEh3eIhw+j2w",
      variants: {
        original: { key: `variants/${upload.key}/original.mp4`, contentType: "video/mp4", size: 4000 },
        playback: { key: `variants/${upload.key}/playback.mp4`, contentType: "video/mp4", size: 1000 },
        poster: { key: `variants/${upload.key}/poster.jpg`, contentType: "image/jpeg", size: 250 },
      },
    };

    expect(await media.recordMedia({ ...object, orgId }, outcome)).toEqual({ linked: true, recorded: true });

    expect(await media.mediaStates([object])).toEqual([outcome]);
    expect((await quotas.usage(orgId, DEFAULT_QUOTA)).used).toBe(10_250);
    expect((await links.linkedObjects([object]))[0]?.variantKeys?.toSorted()).toEqual(
      ["original.mp4", "playback.mp4", "poster.jpg"].map((name) => `variants/${upload.key}/${name}`),
    );
    expect(await links.unlinkObjects(orgId, [object])).toEqual({ released: 1, bytes: 10_250 });
  });

  it("a video recorded with a poster only (before its playback copy existed) is scheduled again and takes one new outcome, whose bytes replace the old", async () => {
    const orgId = uniqueId("org");
    const upload = newUpload({
      orgId,
      size: 5000,
      ownerType: "exercise_comment",
      contentType: "video/mp4",
      key: `${orgId}/exercise_comment/user_test/${uniqueId("v")}.mp4`,
    });
    const job = await link(upload);
    await media.ackMediaJobs([job]);
    const object = { bucket: "media", key: upload.key };
    const poster = { key: `variants/${upload.key}/poster.jpg`, contentType: "image/jpeg", size: 250 };
    const facts = { status: "ready", width: 1080, height: 1920, durationMs: null, placeholder: "3OcRJYB4d3h/iIeHeEh3eIhw+j2w" } as const;
    // What the previous release recorded (its type had only the poster).
    const legacy = { ...facts, variants: { poster } } as unknown as MediaOutcome;
    expect(await media.recordMedia({ ...object, orgId }, legacy)).toEqual({ linked: true, recorded: true });
    expect((await quotas.usage(orgId, DEFAULT_QUOTA)).used).toBe(5250);

    expect(await media.scheduleMediaJobs([job])).toEqual({ scheduled: 1 });
    await media.ackMediaJobs([job]);
    const current: MediaOutcome = {
      ...facts,
      variants: {
        original: { key: `variants/${upload.key}/original.mp4`, contentType: "video/mp4", size: 4000 },
        playback: { key: `variants/${upload.key}/playback.mp4`, contentType: "video/mp4", size: 1000 },
        poster: { ...poster, size: 300 },
      },
    };
    expect(await media.recordMedia({ ...object, orgId }, current)).toEqual({ linked: true, recorded: true });

    expect(await media.mediaStates([object])).toEqual([current]);
    expect((await quotas.usage(orgId, DEFAULT_QUOTA)).used).toBe(5000 + 5300);
    // Replaced once: the new outcome is final, like any other.
    expect(await media.recordMedia({ ...object, orgId }, legacy)).toEqual({ linked: true, recorded: false });
    expect(await media.scheduleMediaJobs([job])).toEqual({ scheduled: 0 });
    expect((await quotas.usage(orgId, DEFAULT_QUOTA)).used).toBe(5000 + 5300);
  });

  it("release sees the variant keys, and unlinking gives back the object's and its variants' bytes", async () => {
    const orgId = uniqueId("org");
    const upload = newUpload({ orgId, size: 1000 });
    await link(upload);
    const object = { bucket: "media", key: upload.key };
    await media.recordMedia({ ...object, orgId }, ready(upload.key));

    const [linked] = await links.linkedObjects([object]);
    expect({ ...linked, variantKeys: linked?.variantKeys?.toSorted() }).toEqual({
      orgId,
      size: 1000,
      variantKeys: Object.values(ready(upload.key).variants)
        .map((v) => v.key)
        .toSorted(),
    });
    expect(await links.unlinkObjects(orgId, [object])).toEqual({ released: 1, bytes: 1600 });
    expect((await quotas.usage(orgId, DEFAULT_QUOTA)).used).toBe(0);
    expect(await media.mediaStates([object])).toEqual([null]);
  });

  it("the commit's jobs are not due during the hand-off grace; acknowledged jobs leave the outbox", async () => {
    const orgId = uniqueId("org");
    const job = await link(newUpload({ orgId }));
    const mine = (jobs: MediaJob[]) => jobs.filter((j) => j.orgId === orgId);

    expect(mine(await media.claimMediaJobs({ limit: 10_000, leaseSeconds: 1 }))).toEqual([]);
    await media.ackMediaJobs([job]);
    await media.ackMediaJobs([]);
    expect(mine(await media.claimMediaJobs({ limit: 10_000, leaseSeconds: 1 }))).toEqual([]);
  });

  it("scheduling puts a job in the outbox, due now, only for a linked image with no outcome and no pending job", async () => {
    const orgId = uniqueId("org");
    const legacy = await link(newUpload({ orgId }));
    await media.ackMediaJobs([legacy]);
    const processed = await link(newUpload({ orgId }));
    await media.ackMediaJobs([processed]);
    await media.recordMedia({ bucket: processed.bucket, key: processed.key, orgId }, ready(processed.key));
    const pending = await link(newUpload({ orgId }));
    const unlinked = newUpload({ orgId });
    const unlinkedJob: MediaJob = { bucket: unlinked.bucket, key: unlinked.key, contentType: unlinked.contentType, orgId };
    const otherOrg = { ...legacy, orgId: uniqueId("org") };
    const mine = (jobs: MediaJob[]) => jobs.filter((j) => j.orgId === orgId || j.orgId === otherOrg.orgId);

    const first = await media.scheduleMediaJobs([legacy, processed, pending, unlinkedJob, otherOrg]);
    const again = await media.scheduleMediaJobs([legacy]);

    expect([first, again, await media.scheduleMediaJobs([])]).toEqual([{ scheduled: 1 }, { scheduled: 0 }, { scheduled: 0 }]);
    // Due now: claimed at once (the pending job is still in its hand-off grace).
    expect(mine(await media.claimMediaJobs({ limit: 10_000, leaseSeconds: 60 }))).toEqual([legacy]);
  });
});
