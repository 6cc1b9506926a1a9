/**
 * The contract of the Erasures port, run against every adapter: in-memory, ioredis + real Redis,
 * and the real Upstash client through the bridge onto the same Redis. The block an erasure sets is
 * read by the staging port's stage and commitConsume, so each adapter is built over its store.
 */
import { MemoryErasures } from "@fitkit/core/adapters/memory/memory-erasures";
import { MemoryStore } from "@fitkit/core/adapters/memory/memory-store";
import { RedisErasures } from "@fitkit/core/adapters/redis/redis-erasures";
import { erasureRefOf } from "@fitkit/core/erasure/erase";
import { type ErasedObject, type Erasures, RETENTION_REASON } from "@fitkit/core/erasure/erasure-store";
import type { StagingStore } from "@fitkit/core/staging/staging-store";
import type { NewUpload } from "@fitkit/core/uploads/upload";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newUpload, uniqueId } from "./support/fixtures.js";
import { ADAPTERS, RedisBackends } from "./support/staging-adapters.js";

const backends = new RedisBackends();
beforeAll(() => backends.start());
afterAll(() => backends.close());

const QUOTA = { defaultQuotaBytes: 1_000_000 };

describe.each(ADAPTERS)("erasures contract: %s", (adapter) => {
  let erasures: Erasures;
  let staging: StagingStore;
  beforeAll(() => {
    const store = backends.store(adapter);
    staging = store;
    erasures = store instanceof MemoryStore ? new MemoryErasures(store) : new RedisErasures(store.redis);
  });

  const stage = (uploads: NewUpload[]) => staging.stage({ uploads, lifetimeSeconds: 600, quota: { orgId: uploads[0]!.orgId, ...QUOTA } });
  const commit = (upload: NewUpload) =>
    staging.commitConsume({
      uploadIds: [upload.uploadId],
      owner: { orgId: upload.orgId, userId: upload.userId },
      ownerType: upload.ownerType,
      replayKey: uniqueId("replay"),
      stored: { fingerprint: "fp", response: "{}" },
      replayTtlSeconds: 60,
      finalObjects: [{ bucket: upload.bucket, key: upload.key }],
    });
  const photo = (orgId: string, userId: string | null, uploadId: string, size: number): ErasedObject => ({
    bucket: "media",
    key: `${orgId}/progress_photo/${userId}/${uploadId}.jpg`,
    ownerType: "progress_photo",
    uploadId,
    size,
  });

  it("a member being erased is refused at stage and at commit; another member and the member in another org are not", async () => {
    const orgId = uniqueId("org");
    const [erased, other] = [uniqueId("user"), uniqueId("user")];
    const inFlight = newUpload({ orgId, userId: erased });
    expect(await stage([inFlight])).toMatchObject({ ok: true });

    await erasures.beginErasure(erasureRefOf({ orgId, userId: erased }, "k1"));

    expect(await stage([newUpload({ orgId, userId: erased })])).toEqual({ ok: false, reason: "erasing" });
    expect(await commit(inFlight)).toEqual({ ok: false, failures: [{ uploadId: inFlight.uploadId, code: "ERASURE_IN_PROGRESS" }] });
    expect(await stage([newUpload({ orgId, userId: other })])).toMatchObject({ ok: true });
    expect(await stage([newUpload({ orgId: uniqueId("org"), userId: erased })])).toMatchObject({ ok: true });
  });

  it("an org being erased refuses every member and its org-owned signatures; the block lifts when the erasure completes", async () => {
    const orgId = uniqueId("org");
    const erasure = erasureRefOf({ orgId, userId: null }, "k1");
    await erasures.beginErasure(erasure);
    const signature = newUpload({ orgId, userId: null, ownerType: "form_signature", bucket: "compliance", key: `incoming/${orgId}/s.png` });

    expect(await stage([newUpload({ orgId, userId: uniqueId("user") })])).toEqual({ ok: false, reason: "erasing" });
    expect(await stage([signature])).toEqual({ ok: false, reason: "erasing" });

    await erasures.finishErasure(erasure, 60);
    expect(await stage([signature])).toMatchObject({ ok: true });
    expect(await commit(signature)).toEqual({ ok: true });
  });

  it("two erasures of one member block until both complete; beginning one twice blocks once", async () => {
    const orgId = uniqueId("org");
    const userId = uniqueId("user");
    const [first, second] = [erasureRefOf({ orgId, userId }, "a"), erasureRefOf({ orgId, userId }, "b")];
    await erasures.beginErasure(first);
    await erasures.beginErasure(first);
    await erasures.beginErasure(second);

    await erasures.finishErasure(first, 60);
    expect(await stage([newUpload({ orgId, userId })])).toEqual({ ok: false, reason: "erasing" });
    await erasures.finishErasure(second, 60);
    expect(await stage([newUpload({ orgId, userId })])).toMatchObject({ ok: true });
  });

  it("counts each object once and each upload once per owner type, however often noted; the receipt is stored and answered again", async () => {
    const orgId = uniqueId("org");
    const userId = uniqueId("user");
    const erasure = erasureRefOf({ orgId, userId }, "k");
    const begun = await erasures.beginErasure(erasure);
    expect(begun).toEqual({ state: "running", startedAt: expect.any(Number) });
    const upload = photo(orgId, userId, "u1", 100);
    const copy = { ...upload, key: `variants/${orgId}/progress_photo/${userId}/u1/display.webp`, size: 40 };
    const stray: ErasedObject = { bucket: "public", key: `o/${orgId}/x/640.webp`, ownerType: null, uploadId: null, size: 7 };

    expect(await erasures.noteErased(erasure, [upload, copy])).toEqual({ objects: 2, bytes: 140 });
    // A retried batch notes the same objects again: nothing counts twice.
    expect(await erasures.noteErased(erasure, [upload, copy, stray])).toEqual({ objects: 3, bytes: 147 });
    await erasures.noteRetained(erasure, [{ bucket: "compliance", key: `records/${orgId}/r.pdf`, size: 9, until: 2_000_000_000_000 }]);
    await erasures.noteRetained(erasure, [{ bucket: "compliance", key: `records/${orgId}/r.pdf`, size: 9, until: 2_000_000_000_000 }]);

    const receipt = await erasures.finishErasure(erasure, 60);
    expect(receipt).toEqual({
      orgId,
      userId,
      startedAt: begun.state === "running" ? begun.startedAt : 0,
      completedAt: expect.any(Number),
      deleted: { progress_photo: { uploads: 1, objects: 2, bytes: 140 }, unknown: { uploads: 0, objects: 1, bytes: 7 } },
      objects: 3,
      bytes: 147,
      retained: {
        reason: RETENTION_REASON,
        objects: 1,
        bytes: 9,
        until: 2_000_000_000_000,
        items: [{ bucket: "compliance", key: `records/${orgId}/r.pdf`, size: 9, until: 2_000_000_000_000 }],
        truncated: false,
      },
    });
    // Notes after completion change nothing; a second finish and a new begin answer the stored receipt.
    await erasures.noteErased(erasure, [photo(orgId, userId, "late", 1)]);
    expect(await erasures.finishErasure(erasure, 60)).toEqual(receipt);
    expect(await erasures.beginErasure(erasure)).toEqual({ state: "complete", receipt });
  });

  it("a receipt with nothing retained says so with no date", async () => {
    const erasure = erasureRefOf({ orgId: uniqueId("org"), userId: null }, "k");
    await erasures.beginErasure(erasure);
    const receipt = await erasures.finishErasure(erasure, 60);
    expect({ deleted: receipt.deleted, userId: receipt.userId, retained: receipt.retained }).toEqual({
      deleted: {},
      userId: null,
      retained: { reason: RETENTION_REASON, objects: 0, bytes: 0, until: null, items: [], truncated: false },
    });
  });

  it("finds the scope's uploads on the deadline list page by page — every one once — and no one else's", async () => {
    const orgId = uniqueId("org");
    const userId = uniqueId("user");
    const mine = Array.from({ length: 7 }, () => newUpload({ orgId, userId, size: 10 }));
    await stage(mine.slice(0, 4));
    await stage(mine.slice(4));
    await stage([newUpload({ orgId, userId: uniqueId("user") }), newUpload({ orgId: uniqueId("org"), userId })]);

    const found: string[] = [];
    let cursor = "0";
    let pages = 0;
    do {
      const page = await erasures.scopeUploadsInFlight({ orgId, userId }, cursor, 3);
      found.push(...page.uploads.map((u) => u.uploadId));
      expect(page.uploads.every((u) => u.orgId === orgId && u.userId === userId && u.status === "staged")).toBe(true);
      cursor = page.cursor;
      pages += 1;
    } while (cursor !== "0" && pages < 10_000);

    expect(new Set(found)).toEqual(new Set(mine.map((u) => u.uploadId)));
    const orgWide = await erasures.scopeUploadsInFlight({ orgId, userId: null }, "0", 10_000);
    expect(orgWide.uploads).toHaveLength(8);
  });
});
