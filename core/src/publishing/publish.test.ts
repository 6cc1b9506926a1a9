/** Publishing's own rules, on in-memory fakes: storage failures leave a state a retry completes. */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MemoryEdgeCache } from "../adapters/memory/memory-edge-cache.js";
import { MemoryObjectStore } from "../adapters/memory/memory-object-store.js";
import { MemoryStore } from "../adapters/memory/memory-store.js";
import { SharpImageCodec } from "../adapters/sharp/sharp-image-codec.js";
import { variantKey } from "../policies/object-keys.js";
import type { NewUpload } from "../uploads/upload.js";
import { type PublishDeps, publish, unpublish } from "./publish.js";

const logo: NewUpload = {
  uploadId: "u1",
  ownerType: "organization_logo",
  orgId: "org_1",
  userId: "user_1",
  bucket: "media",
  key: "org_1/organization_logo/user_1/u1.png",
  contentType: "image/png",
  size: 100,
};

/** A linked, processed logo (a real 700×400 PNG as its original variant). */
async function processedLogo(): Promise<PublishDeps & { store: MemoryStore; objects: MemoryObjectStore; edgeCache: MemoryEdgeCache }> {
  const store = new MemoryStore();
  const objects = new MemoryObjectStore();
  await store.stage({ uploads: [logo], lifetimeSeconds: 60, quota: { orgId: "org_1", defaultQuotaBytes: 1e9 } });
  await store.commitConsume({
    uploadIds: [logo.uploadId],
    owner: { orgId: "org_1", userId: "user_1" },
    ownerType: logo.ownerType,
    replayKey: "r",
    stored: { fingerprint: "f", response: "{}" },
    replayTtlSeconds: 60,
    finalObjects: [{ bucket: "media", key: logo.key }],
  });
  const images = new SharpImageCodec();
  const pixels = Buffer.alloc(700 * 400 * 3);
  for (let i = 0; i < pixels.length; i += 3) pixels.set([20, 120, 200], i);
  const { bytes: png } = await images.encode({ data: pixels, width: 700, height: 400, channels: 3 }, { format: "png" }, 1e6);
  const key = variantKey(logo.key, "original", "png");
  await objects.put({ bucket: "media", key, body: png, contentType: "image/png", checksumSha256: createHash("sha256").update(png).digest("base64") });
  const variant = { key, contentType: "image/png", size: png.length };
  await store.recordMedia(
    { bucket: "media", key: logo.key, orgId: "org_1" },
    { status: "ready", width: 700, height: 400, placeholder: "AAAA", variants: { original: variant, display: variant, thumb: variant } },
  );
  return {
    store,
    objects,
    mediaBucket: "media",
    media: objects,
    variants: store,
    published: store,
    public: { name: "public", baseUrl: "https://media.example.test", objects },
    edgeCache: new MemoryEdgeCache(),
    images,
  };
}

describe("publish", () => {
  it("a failed rendition write records nothing; the retry publishes the same URLs", async () => {
    const deps = await processedLogo();
    deps.objects.failNext.add("put");

    await expect(publish(deps, { orgId: "org_1", key: logo.key })).rejects.toMatchObject({ code: "DEPENDENCY_UNAVAILABLE" });
    expect(await deps.store.publishedItems("org_1")).toEqual([]);

    const answer = await publish(deps, { orgId: "org_1", key: logo.key });
    expect(answer.url).toMatch(/^https:\/\/media\.example\.test\/o\/org_1\/[0-9a-f]{32}\/640\.webp$/);
    expect(answer.srcset.split(", ").map((e) => e.split(" ")[1])).toEqual(["320w", "640w"]);
  });
});

describe("unpublish", () => {
  it("a failed delete keeps the record (and its bytes), so the retry deletes the renditions and gives the bytes back", async () => {
    const deps = await processedLogo();
    const before = (await deps.store.usage("org_1", 1e9)).used;
    await publish(deps, { orgId: "org_1", key: logo.key });
    const [item] = await deps.store.publishedItems("org_1");
    deps.objects.failNext.add("deleteObjects");

    await expect(unpublish(deps, { orgId: "org_1", key: logo.key })).rejects.toMatchObject({ code: "DEPENDENCY_UNAVAILABLE" });
    expect(await deps.store.publishedItems("org_1")).toEqual([item]);

    expect(await unpublish(deps, { orgId: "org_1", key: logo.key })).toEqual({ deleted: item!.renditions.length });
    for (const rendition of item!.renditions) expect(await deps.objects.head("public", rendition.key)).toBeNull();
    expect((await deps.store.usage("org_1", 1e9)).used).toBe(before);
  });

  it("purges every rendition's public URL from the edge cache, after storage confirmed the renditions gone", async () => {
    const deps = await processedLogo();
    const answer = await publish(deps, { orgId: "org_1", key: logo.key });
    const [item] = await deps.store.publishedItems("org_1");
    const purgedWhileStored: string[] = [];
    const purge = deps.edgeCache.purge.bind(deps.edgeCache);
    deps.edgeCache.purge = async (urls) => {
      for (const rendition of item!.renditions) if (await deps.objects.head("public", rendition.key)) purgedWhileStored.push(rendition.key);
      return purge(urls);
    };

    await unpublish(deps, { orgId: "org_1", key: logo.key });

    expect(deps.edgeCache.purged.sort()).toEqual(item!.renditions.map((r) => `https://media.example.test/${r.key}`).sort());
    expect(deps.edgeCache.purged).toContain(answer.url);
    expect(purgedWhileStored).toEqual([]);
  });

  it("a failed purge keeps the record (and its bytes): the retry purges again, then gives the bytes back", async () => {
    const deps = await processedLogo();
    const before = (await deps.store.usage("org_1", 1e9)).used;
    await publish(deps, { orgId: "org_1", key: logo.key });
    const [item] = await deps.store.publishedItems("org_1");
    deps.edgeCache.failNext = true;

    await expect(unpublish(deps, { orgId: "org_1", key: logo.key })).rejects.toMatchObject({ code: "DEPENDENCY_UNAVAILABLE", dependency: "cdn" });
    expect(await deps.store.publishedItems("org_1")).toEqual([item]);
    expect(deps.edgeCache.purged).toEqual([]);

    expect(await unpublish(deps, { orgId: "org_1", key: logo.key })).toEqual({ deleted: item!.renditions.length });
    expect(deps.edgeCache.purged).toHaveLength(item!.renditions.length);
    expect((await deps.store.usage("org_1", 1e9)).used).toBe(before);
  });

  it("refuses another organisation's key and a key that is not publishable, deleting nothing", async () => {
    const deps = await processedLogo();
    await publish(deps, { orgId: "org_1", key: logo.key });

    await expect(unpublish(deps, { orgId: "org_2", key: logo.key })).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(unpublish(deps, { orgId: "org_1", key: "org_1/progress_photo/user_1/u2.jpg" })).rejects.toMatchObject({ code: "FORBIDDEN" });
    expect(await deps.store.publishedItems("org_1")).toHaveLength(1);
  });
});
