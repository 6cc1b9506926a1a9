/** Consume's promotion of compliance uploads and of staged media, on in-memory fakes. */
import { describe, expect, it } from "vitest";
import { pngImage } from "../../../support/media.js";
import { MemoryObjectStore } from "../adapters/memory/memory-object-store.js";
import { MemoryStore } from "../adapters/memory/memory-store.js";
import { DependencyUnavailableError } from "../errors.js";
import { consume } from "./consume.js";
import { sweep } from "./sweeper.js";

const png = pngImage();
const upload = {
  uploadId: "u1",
  ownerType: "form_signature" as const,
  orgId: "org_1",
  userId: null,
  bucket: "compliance",
  key: "incoming/org_1/u1.png",
  contentType: "image/png",
  size: png.length,
};
const request = { uploadIds: ["u1"], ownerType: "form_signature" as const, owner: { orgId: "org_1" }, idempotencyKey: "k" };

async function prepare() {
  const clock = { time: 1_800_000_000_000, now: () => clock.time };
  const store = new MemoryStore(clock);
  const objects = new MemoryObjectStore();
  await store.stage({ uploads: [upload], lifetimeSeconds: 600, quota: { orgId: "org_1", defaultQuotaBytes: 1e6 } });
  await objects.put({ bucket: "compliance", key: upload.key, body: png, contentType: "image/png", checksumSha256: "" });
  return { store, objects, clock };
}
const records = "records/org_1/u1.png";

describe("consume of a compliance upload", () => {
  it("promotes it to records/ of the records bucket and links the records key there", async () => {
    const { store, objects } = await prepare();

    const reply = await consume({ store, objects, complianceBucket: "compliance", recordsBucket: "records" }, request);

    expect(reply.uploads.map((u) => u.key)).toEqual(["records/org_1/u1.png"]);
    expect(await objects.head("records", "records/org_1/u1.png")).toMatchObject({ size: png.length });
    expect(await objects.head("compliance", upload.key)).toBeNull();
    // The record is kept in its own bucket, never in the bucket the public signature functions reach.
    expect(await objects.head("compliance", "records/org_1/u1.png")).toBeNull();
    expect(reply.uploads.map((u) => u.bucket)).toEqual(["records"]);
    expect(await store.linkedObjects([{ bucket: "records", key: "records/org_1/u1.png" }])).toEqual([{ orgId: "org_1", size: png.length }]);
  });

  it("whose object is deleted between the checks and the promotion is 409 NOT_UPLOADED and stays staged", async () => {
    const { store, objects } = await prepare();
    const copy = objects.copy.bind(objects);
    objects.copy = async (bucket, fromKey, toKey) => {
      objects.objects.delete(`${bucket}/${fromKey}`); // a concurrent delete wins the race
      return copy(bucket, fromKey, toKey);
    };

    await expect(consume({ store, objects, complianceBucket: "compliance", recordsBucket: "records" }, request)).rejects.toMatchObject({
      code: "NOT_UPLOADED",
      status: 409,
      details: [{ uploadId: "u1", code: "NOT_UPLOADED" }],
    });
    expect(store.uploads.get("u1")?.status).toBe("staged");
    expect(await store.usage("org_1", 1e6)).toEqual({ used: 0, reserved: png.length, quota: 1e6 });
  });

  it("wins the race against its deadline: the sweeper, run mid-copy past the deadline, claims nothing and the commit succeeds", async () => {
    const { store, objects, clock } = await prepare();
    const copy = objects.copy.bind(objects);
    let sweptMidCopy: Awaited<ReturnType<typeof sweep>> | undefined;
    objects.copy = async (bucket, fromKey, toKey) => {
      const copied = await copy(bucket, fromKey, toKey);
      clock.time += 601_000; // the copy took longer than the time the upload had left
      sweptMidCopy = await sweep({ store, objects, complianceBucket: "compliance" });
      return copied;
    };

    const reply = await consume({ store, objects, complianceBucket: "compliance", recordsBucket: "records" }, request);

    expect(sweptMidCopy).toMatchObject({ claimed: 0, deleted: 0 });
    expect(reply.uploads.map((u) => u.key)).toEqual([records]);
    expect(await store.linkedObjects([{ bucket: "records", key: records }])).toEqual([{ orgId: "org_1", size: png.length }]);
    expect(await store.usage("org_1", 1e6)).toEqual({ used: png.length, reserved: 0, quota: 1e6 });
  });

  it("is refused EXPIRED before anything is copied when the deadline passed during its checks", async () => {
    const { store, objects, clock } = await prepare();
    const head = objects.head.bind(objects);
    objects.head = async (bucket, key) => {
      clock.time += 601_000; // e.g. a slow scan
      return head(bucket, key);
    };

    await expect(consume({ store, objects, complianceBucket: "compliance", recordsBucket: "records" }, request)).rejects.toMatchObject({ code: "EXPIRED" });
    expect(objects.objects.has(`records/${records}`)).toBe(false);
  });

  it("succeeds on a retry after the first attempt's copy landed, without copying again", async () => {
    const { store, objects } = await prepare();
    const commit = store.commitConsume.bind(store);
    store.commitConsume = async () => {
      store.commitConsume = commit;
      throw new DependencyUnavailableError("redis"); // the first attempt dies after its copy
    };
    await expect(consume({ store, objects, complianceBucket: "compliance", recordsBucket: "records" }, request)).rejects.toMatchObject({
      code: "DEPENDENCY_UNAVAILABLE",
    });
    expect(objects.objects.has(`records/${records}`)).toBe(true);
    // R2's lock refuses any write to the retained key, copies included.
    objects.copy = async () => {
      throw new DependencyUnavailableError("storage");
    };

    const reply = await consume({ store, objects, complianceBucket: "compliance", recordsBucket: "records" }, request);

    expect(reply.uploads.map((u) => u.key)).toEqual([records]);
    expect(await store.linkedObjects([{ bucket: "records", key: records }])).toEqual([{ orgId: "org_1", size: png.length }]);
  });

  it("refuses loudly, and never overwrites, when the records key already holds other bytes", async () => {
    const { store, objects } = await prepare();
    const other = pngImage(3, 3);
    await objects.put({ bucket: "records", key: records, body: other, contentType: "image/png", checksumSha256: "" });

    await expect(consume({ store, objects, complianceBucket: "compliance", recordsBucket: "records" }, request)).rejects.toThrow(/records\/org_1\/u1\.png/);
    expect(objects.objects.get(`records/${records}`)?.body).toEqual(new Uint8Array(other));
    expect(store.uploads.get("u1")?.status).toBe("staged");
  });

  it("is refused, with nothing copied or committed, when no records bucket is configured", async () => {
    const { store, objects } = await prepare();
    await expect(consume({ store, objects, complianceBucket: "compliance" }, request)).rejects.toThrow(/recordsBucket/);
    expect([...objects.objects.keys()].filter((id) => id.includes("records/"))).toEqual([]);
    expect(await store.linkedObjects([{ bucket: "compliance", key: records }])).toEqual([null]);
  });
});

describe("consume of a staged media upload", () => {
  const photo = {
    uploadId: "p1",
    ownerType: "progress_photo" as const,
    orgId: "org_1",
    userId: "user_1",
    bucket: "media",
    key: "staging/org_1/progress_photo/user_1/p1.png",
    contentType: "image/png",
    size: png.length,
  };
  const linked = "org_1/progress_photo/user_1/p1.png";
  const linkPhoto = { uploadIds: ["p1"], ownerType: "progress_photo" as const, owner: { orgId: "org_1", userId: "user_1" }, idempotencyKey: "k" };

  async function preparePhoto() {
    const clock = { time: 1_800_000_000_000, now: () => clock.time };
    const store = new MemoryStore(clock);
    const objects = new MemoryObjectStore();
    await store.stage({ uploads: [photo], lifetimeSeconds: 600, quota: { orgId: "org_1", defaultQuotaBytes: 1e6 } });
    await objects.put({ bucket: "media", key: photo.key, body: png, contentType: "image/png", checksumSha256: "" });
    return { store, objects, clock };
  }

  it("copies it from staging/ to its linked key in the same bucket, links that key and deletes the staged copy", async () => {
    const { store, objects } = await preparePhoto();

    const reply = await consume({ store, objects, complianceBucket: "compliance" }, linkPhoto);

    expect(reply.uploads.map((u) => [u.bucket, u.key])).toEqual([["media", linked]]);
    expect([await objects.head("media", linked), await objects.head("media", photo.key)]).toEqual([expect.objectContaining({ size: png.length }), null]);
    expect(await store.linkedObjects([{ bucket: "media", key: linked }])).toEqual([expect.objectContaining({ orgId: "org_1", size: png.length })]);
  });

  it("retried after a crash between the copy and the commit, ends linked with the staged copy gone", async () => {
    const { store, objects } = await preparePhoto();
    const commit = store.commitConsume.bind(store);
    store.commitConsume = async () => {
      store.commitConsume = commit;
      throw new DependencyUnavailableError("redis"); // the first attempt dies after its copy
    };
    await expect(consume({ store, objects, complianceBucket: "compliance" }, linkPhoto)).rejects.toMatchObject({ code: "DEPENDENCY_UNAVAILABLE" });
    expect([objects.objects.has(`media/${linked}`), objects.objects.has(`media/${photo.key}`)]).toEqual([true, true]);

    const reply = await consume({ store, objects, complianceBucket: "compliance" }, linkPhoto);

    expect(reply.uploads.map((u) => u.key)).toEqual([linked]);
    expect([objects.objects.has(`media/${linked}`), objects.objects.has(`media/${photo.key}`)]).toEqual([true, false]);
    expect(await store.usage("org_1", 1e6)).toEqual({ used: png.length, reserved: 0, quota: 1e6 });
  });

  it("retried while the first attempt is still running, answers the first attempt's reply once it linked the batch and deleted the staged copy", async () => {
    const { store, objects } = await preparePhoto();
    const head = objects.head.bind(objects);
    let first: Promise<unknown> | undefined;
    objects.head = async (bucket, key) => {
      if (!first) {
        objects.head = head;
        // The retry's snapshot is taken; the first attempt then links the batch and removes the staged copy.
        first = consume({ store, objects, complianceBucket: "compliance" }, linkPhoto);
        await first;
      }
      return head(bucket, key);
    };

    const retried = await consume({ store, objects, complianceBucket: "compliance" }, linkPhoto);

    expect(retried).toEqual(await first);
    expect(retried.uploads.map((u) => u.key)).toEqual([linked]);
  });

  it("whose staged copy survives the commit (its delete failed) has it deleted by the sweeper's URL watch at the deadline; the linked copy stays", async () => {
    const { store, objects, clock } = await preparePhoto();
    objects.failNext.add("deleteObjects");
    await consume({ store, objects, complianceBucket: "compliance" }, linkPhoto);
    expect(objects.objects.has(`media/${photo.key}`)).toBe(true);
    // A retry is answered from the stored reply; the staged copy is not the reply's concern.
    expect((await consume({ store, objects, complianceBucket: "compliance" }, linkPhoto)).uploads.map((u) => u.key)).toEqual([linked]);

    clock.time += 901_000; // past the deadline the promotion held
    const report = await sweep({ store, objects, complianceBucket: "compliance" });

    expect(report).toMatchObject({ watchedDeleted: 1, failed: 0 });
    expect([objects.objects.has(`media/${linked}`), objects.objects.has(`media/${photo.key}`)]).toEqual([true, false]);
    expect(await store.linkedObjects([{ bucket: "media", key: linked }])).toEqual([expect.objectContaining({ orgId: "org_1" })]);
  });
});
