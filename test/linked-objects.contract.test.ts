/**
 * The contract of the LinkedObjects port, run against every adapter: in-memory, ioredis + real
 * Redis, and the real Upstash client through the bridge onto the same Redis. Objects are linked by
 * the staging port's commitConsume, so each test links through it.
 */
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

describe.each(ADAPTERS)("linked objects contract: %s", (adapter) => {
  let links: LinkedObjects;
  let staging: StagingStore;
  let quotas: QuotaLedger;
  beforeAll(() => {
    const instance = backends.store(adapter);
    links = instance;
    staging = instance;
    quotas = instance;
  });

  /** Stages and consumes `uploads`, linking each at `finalKeys[i]` (default: its staged key). */
  async function link(uploads: NewUpload[], finalKeys: string[] = uploads.map((u) => u.key)) {
    const first = uploads[0]!;
    await staging.stage({ uploads, lifetimeSeconds: 600, quota: { orgId: first.orgId, defaultQuotaBytes: DEFAULT_QUOTA } });
    const outcome = await staging.commitConsume({
      uploadIds: uploads.map((u) => u.uploadId),
      owner: { orgId: first.orgId, userId: first.userId },
      ownerType: first.ownerType,
      replayKey: uniqueId("replay"),
      stored: { fingerprint: "fp", response: "{}" },
      replayTtlSeconds: 60,
      finalObjects: uploads.map((u, i) => ({ bucket: u.bucket, key: finalKeys[i]! })),
    });
    expect(outcome).toEqual({ ok: true });
  }

  it("answers an empty question with an empty answer", async () => {
    expect(await links.linkedObjects([])).toEqual([]);
  });

  it("links consumed objects with their org and size, in request order; staged or unknown objects are not linked", async () => {
    const orgId = uniqueId("org");
    const [a, b, staged] = [newUpload({ orgId, size: 11 }), newUpload({ orgId, size: 22 }), newUpload({ orgId, size: 33 })];
    await link([a!, b!]);
    await staging.stage({ uploads: [staged!], lifetimeSeconds: 600, quota: { orgId, defaultQuotaBytes: DEFAULT_QUOTA } });

    const answer = await links.linkedObjects([
      { bucket: "media", key: b!.key },
      { bucket: "media", key: staged!.key },
      { bucket: "media", key: a!.key },
      { bucket: "other-bucket", key: a!.key },
      { bucket: "media", key: `${orgId}/never-seen.png` },
    ]);

    expect(answer).toEqual([{ orgId, size: 22 }, null, { orgId, size: 11 }, null, null]);
  });

  it("links the final key of a promoted object, not the key it was staged under", async () => {
    const orgId = uniqueId("org");
    const upload = newUpload({ orgId, ownerType: "form_signature", userId: null, bucket: "compliance", key: `incoming/${orgId}/x.png`, size: 5 });

    await link([upload], [`records/${orgId}/x.png`]);

    expect(
      await links.linkedObjects([
        { bucket: "compliance", key: upload.key },
        { bucket: "compliance", key: `records/${orgId}/x.png` },
      ]),
    ).toEqual([null, { orgId, size: 5 }]);
  });

  it("unlinks each object once and gives its bytes back to used, however often it is released", async () => {
    const orgId = uniqueId("org");
    const uploads = [newUpload({ orgId, size: 100 }), newUpload({ orgId, size: 250 })];
    await link(uploads);
    const objects = uploads.map((u) => ({ bucket: u.bucket, key: u.key }));

    const first = await links.unlinkObjects(orgId, objects);
    const again = await links.unlinkObjects(orgId, objects);

    expect(first).toEqual({ released: 2, bytes: 350 });
    expect(again).toEqual({ released: 0, bytes: 0 });
    expect(await links.linkedObjects(objects)).toEqual([null, null]);
    expect(await quotas.usage(orgId, DEFAULT_QUOTA)).toEqual({ used: 0, reserved: 0, quota: DEFAULT_QUOTA });
  });

  it("lets exactly one of many concurrent releases of the same object give its bytes back", async () => {
    const orgId = uniqueId("org");
    const upload = newUpload({ orgId, size: 64 });
    await link([upload]);

    const outcomes = await Promise.all(Array.from({ length: 8 }, () => links.unlinkObjects(orgId, [{ bucket: upload.bucket, key: upload.key }])));

    expect(outcomes.filter((o) => o.released === 1)).toHaveLength(1);
    expect(outcomes.reduce((sum, o) => sum + o.bytes, 0)).toBe(64);
    expect(await quotas.usage(orgId, DEFAULT_QUOTA)).toMatchObject({ used: 0 });
  });

  it("another organisation releases nothing and the object stays linked", async () => {
    const orgId = uniqueId("org");
    const upload = newUpload({ orgId, size: 40 });
    await link([upload]);
    const object = { bucket: upload.bucket, key: upload.key };

    expect(await links.unlinkObjects(uniqueId("org_other"), [object])).toEqual({ released: 0, bytes: 0 });
    expect(await links.linkedObjects([object])).toEqual([{ orgId, size: 40 }]);
    expect(await quotas.usage(orgId, DEFAULT_QUOTA)).toEqual({ used: 40, reserved: 0, quota: DEFAULT_QUOTA });
  });
});
