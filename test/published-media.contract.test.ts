/**
 * The contract of the PublishedMedia port (and what it adds to QuotaLedger), run against every
 * adapter: in-memory, ioredis + real Redis, and the real Upstash client through the bridge onto
 * the same Redis. Uploads are linked by commitConsume, as in production.
 */
import type { PublishedItem, PublishedMedia } from "@fitkit/core/publishing/published-media";
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

const logoOf = (orgId: string): NewUpload => {
  const upload = newUpload({ orgId, ownerType: "organization_logo", size: 1000 });
  return { ...upload, key: `${orgId}/organization_logo/user_test/${upload.uploadId}.jpg` };
};

const itemFor = (upload: NewUpload, sizes: [number, number] = [300, 200]): PublishedItem => ({
  key: upload.key,
  ownerType: upload.ownerType,
  width: 640,
  height: 480,
  placeholder: "3OcRJYB4d3h/iIeHeEh3eIhw+j2w",
  renditions: [
    { key: `o/${upload.orgId}/${upload.uploadId}/320.webp`, width: 320, height: 240, contentType: "image/webp", size: sizes[0] },
    { key: `o/${upload.orgId}/${upload.uploadId}/640.webp`, width: 640, height: 480, contentType: "image/webp", size: sizes[1] },
  ],
  defaultKey: `o/${upload.orgId}/${upload.uploadId}/640.webp`,
});

describe.each(ADAPTERS)("published media contract: %s", (adapter) => {
  let published: PublishedMedia;
  let staging: StagingStore;
  let quotas: QuotaLedger;
  beforeAll(() => {
    const instance = backends.store(adapter);
    published = instance;
    staging = instance;
    quotas = instance;
  });

  async function link(upload: NewUpload): Promise<void> {
    await staging.stage({ uploads: [upload], lifetimeSeconds: 600, quota: { orgId: upload.orgId, defaultQuotaBytes: DEFAULT_QUOTA } });
    const outcome = await staging.commitConsume({
      uploadIds: [upload.uploadId],
      owner: { orgId: upload.orgId, userId: upload.userId },
      ownerType: upload.ownerType,
      replayKey: uniqueId("replay"),
      stored: { fingerprint: "fp", response: "{}" },
      replayTtlSeconds: 60,
      finalObjects: [{ bucket: upload.bucket, key: upload.key }],
    });
    expect(outcome).toEqual({ ok: true });
  }

  it("records an item once, adding its renditions' bytes to used once however often it is recorded", async () => {
    const orgId = uniqueId("org");
    const upload = logoOf(orgId);
    await link(upload);
    const item = itemFor(upload);

    const first = await published.recordPublished({ bucket: "media", key: upload.key, orgId }, item);
    const second = await published.recordPublished({ bucket: "media", key: upload.key, orgId }, itemFor(upload, [1, 1]));

    expect(first).toEqual({ linked: true, recorded: true, item });
    expect(second).toEqual({ linked: true, recorded: false, item });
    expect(await published.publishedItem(orgId, upload.key)).toEqual(item);
    expect(await quotas.usage(orgId, DEFAULT_QUOTA)).toEqual({ used: 1000 + 500, reserved: 0, quota: DEFAULT_QUOTA });
  });

  it("records nothing for an upload that is not linked, or linked to another org", async () => {
    const orgId = uniqueId("org");
    const unlinked = logoOf(orgId);
    const others = logoOf(uniqueId("org"));
    await link(others);

    expect(await published.recordPublished({ bucket: "media", key: unlinked.key, orgId }, itemFor(unlinked))).toEqual({
      linked: false,
      recorded: false,
      item: null,
    });
    expect(await published.recordPublished({ bucket: "media", key: others.key, orgId }, itemFor(others))).toEqual({
      linked: false,
      recorded: false,
      item: null,
    });
    expect(await published.publishedItems(orgId)).toEqual([]);
    expect(await quotas.usage(orgId, DEFAULT_QUOTA)).toEqual({ used: 0, reserved: 0, quota: DEFAULT_QUOTA });
  });

  it("lists the org's items in key order, and only the org's", async () => {
    const orgId = uniqueId("org");
    const uploads = [logoOf(orgId), logoOf(orgId), logoOf(orgId)];
    const elsewhere = logoOf(uniqueId("org"));
    for (const upload of [...uploads, elsewhere]) {
      await link(upload);
      await published.recordPublished({ bucket: "media", key: upload.key, orgId: upload.orgId }, itemFor(upload));
    }

    const listed = await published.publishedItems(orgId);

    expect(listed).toEqual([...uploads].sort((a, b) => (a.key < b.key ? -1 : 1)).map((u) => itemFor(u)));
  });

  it("removes an item once, giving its bytes back once; an unknown key removes nothing", async () => {
    const orgId = uniqueId("org");
    const upload = logoOf(orgId);
    await link(upload);
    await published.recordPublished({ bucket: "media", key: upload.key, orgId }, itemFor(upload));

    const [first, second] = await Promise.all([published.removePublished(orgId, upload.key), published.removePublished(orgId, upload.key)]);

    expect([first, second].filter(Boolean)).toEqual([itemFor(upload)]);
    expect(await published.removePublished(orgId, "not/a/published/key.jpg")).toBeNull();
    expect(await published.publishedItem(orgId, upload.key)).toBeNull();
    expect(await quotas.usage(orgId, DEFAULT_QUOTA)).toEqual({ used: 1000, reserved: 0, quota: DEFAULT_QUOTA });
  });
});
