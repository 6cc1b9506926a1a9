import { describe, expect, it } from "vitest";
import type { StagedUpload } from "../../uploads/upload.js";
import type { MemoryStoreSnapshot } from "./memory-state.js";
import { MemoryStore } from "./memory-store.js";

const upload = (uploadId: string, orgId = "org_1") => ({
  uploadId,
  ownerType: "progress_photo" as const,
  orgId,
  userId: "user_1",
  bucket: "media",
  key: `${orgId}/progress_photo/user_1/${uploadId}.png`,
  contentType: "image/png",
  size: 100,
});

/** A store holding one of everything: a consumed upload with its replay, a staged one, a used token, a rate window, a quota. */
async function storeWithState(): Promise<MemoryStore> {
  const store = new MemoryStore();
  await store.setQuota("org_1", 10_000);
  const rateLimit = { subject: "presign:user_1", limit: 5, windowSeconds: 60 };
  await store.stage({
    uploads: [upload("a"), upload("b")],
    lifetimeSeconds: 600,
    urlLifetimeSeconds: 300,
    quota: { orgId: "org_1", defaultQuotaBytes: 1000, userInFlightBytes: 5000 },
    rateLimit,
    replay: { key: "presign_1", stored: { fingerprint: "p", response: "first" }, ttlSeconds: 600 },
  });
  await store.commitConsume({
    uploadIds: ["a"],
    owner: { orgId: "org_1", userId: "user_1" },
    ownerType: "progress_photo",
    replayKey: "replay_1",
    stored: { fingerprint: "f", response: '{"uploads":[]}' },
    replayTtlSeconds: 3600,
    finalObjects: [{ bucket: "media", key: upload("a").key }],
  });
  await store.putSignatureToken({ tokenHash: "t1", orgId: "org_1", formId: "form", submissionId: "sub" }, 600);
  await store.useSignatureToken("t1", "c");
  return store;
}

describe("MemoryStore snapshot and restore", () => {
  it("a store restored from a JSON round trip of a snapshot holds and answers exactly what the original does", async () => {
    const original = await storeWithState();

    const restored = new MemoryStore();
    restored.restore(JSON.parse(JSON.stringify(original.snapshot())) as MemoryStoreSnapshot);

    expect(restored.snapshot()).toEqual(original.snapshot());
    expect(await restored.usage("org_1", 1000)).toEqual(await original.usage("org_1", 1000));
    expect(await restored.inFlightByUser("org_1")).toEqual({ user_1: 100 });
    // The presign replay and the early-release list came through too.
    const again = { uploads: [upload("x")], lifetimeSeconds: 600, quota: { orgId: "org_1", defaultQuotaBytes: 1000 } };
    expect(await restored.stage({ ...again, replay: { key: "presign_1", stored: { fingerprint: "q", response: "second" }, ttlSeconds: 600 } })).toMatchObject({
      replayed: { fingerprint: "p", response: "first" },
    });
    expect(restored.urlExpiries.has("b")).toBe(true);
    expect(await restored.loadForConsume(["a", "b"], "replay_1")).toMatchObject({
      replay: { fingerprint: "f", response: '{"uploads":[]}' },
      uploads: [
        { uploadId: "a", status: "consumed" },
        { uploadId: "b", status: "staged" },
      ] as Partial<StagedUpload>[],
    });
    expect(await restored.linkedObjects([{ bucket: "media", key: upload("a").key }])).toEqual([{ orgId: "org_1", size: 100 }]);
    expect(await restored.useSignatureToken("t1", "d")).toEqual({ state: "used" });
  });

  it("restore replaces what the store held", async () => {
    const store = await storeWithState();

    store.restore(new MemoryStore().snapshot());

    expect(store.snapshot()).toEqual(new MemoryStore().snapshot());
    expect(await store.usage("org_1", 1000)).toEqual({ used: 0, reserved: 0, quota: 1000 });
  });
});
