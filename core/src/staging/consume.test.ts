/** Consume's promotion of compliance uploads, on in-memory fakes. */
import { describe, expect, it } from "vitest";
import { pngImage } from "../../../support/media.js";
import { MemoryObjectStore } from "../adapters/memory/memory-object-store.js";
import { MemoryStore } from "../adapters/memory/memory-store.js";
import { consume } from "./consume.js";

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
  const store = new MemoryStore();
  const objects = new MemoryObjectStore();
  await store.stage({ uploads: [upload], lifetimeSeconds: 600, quota: { orgId: "org_1", defaultQuotaBytes: 1e6 } });
  await objects.put({ bucket: "compliance", key: upload.key, body: png, contentType: "image/png", checksumSha256: "" });
  return { store, objects };
}

describe("consume of a compliance upload", () => {
  it("promotes it to records/ and links the records key", async () => {
    const { store, objects } = await prepare();

    const reply = await consume({ store, objects, complianceBucket: "compliance" }, request);

    expect(reply.uploads.map((u) => u.key)).toEqual(["records/org_1/u1.png"]);
    expect(await objects.head("compliance", "records/org_1/u1.png")).toMatchObject({ size: png.length });
    expect(await objects.head("compliance", upload.key)).toBeNull();
    expect(await store.linkedObjects([{ bucket: "compliance", key: "records/org_1/u1.png" }])).toEqual([{ orgId: "org_1", size: png.length }]);
  });

  it("whose object is deleted between the checks and the promotion is 409 NOT_UPLOADED and stays staged", async () => {
    const { store, objects } = await prepare();
    const copy = objects.copy.bind(objects);
    objects.copy = async (bucket, fromKey, toKey) => {
      objects.objects.delete(`${bucket}/${fromKey}`); // a concurrent delete wins the race
      return copy(bucket, fromKey, toKey);
    };

    await expect(consume({ store, objects, complianceBucket: "compliance" }, request)).rejects.toMatchObject({
      code: "NOT_UPLOADED",
      status: 409,
      details: [{ uploadId: "u1", code: "NOT_UPLOADED" }],
    });
    expect(store.uploads.get("u1")?.status).toBe("staged");
    expect(await store.usage("org_1", 1e6)).toEqual({ used: 0, reserved: png.length, quota: 1e6 });
  });
});
