/**
 * Takedown reaches the edge. Published renditions are cached for a year, so unpublish (and release,
 * and erase-user and erase-org) must purge their URLs from Cloudflare's cache, and must not report
 * success when the purge was not confirmed. On real parts: the SigV4-checking embedded S3 server, the
 * publish, unpublish, release and erasure use-cases, Cloudflare's purge API as
 * support/cloudflare-api.ts documents it, and the local stack's public media route.
 */
import { mkdtemp } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CloudflareCachePurge } from "@fitkit/core/adapters/cloudflare/cloudflare-cache-purge";
import { MemoryErasures } from "@fitkit/core/adapters/memory/memory-erasures";
import { MemoryStore } from "@fitkit/core/adapters/memory/memory-store";
import { createS3Client } from "@fitkit/core/adapters/s3/s3-client";
import { S3ObjectStore } from "@fitkit/core/adapters/s3/s3-object-store";
import { type EraseDeps, eraseOrg, eraseUser } from "@fitkit/core/erasure/erase";
import { variantKey } from "@fitkit/core/policies/object-keys";
import { type EdgeCache, NO_EDGE_CACHE } from "@fitkit/core/publishing/edge-cache";
import { type PublishResponse, publish, unpublish } from "@fitkit/core/publishing/publish";
import { release } from "@fitkit/core/quotas/release";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedS3, startEmbeddedS3 } from "../local/embedded-s3.js";
import { createPublicMediaRoute, PUBLIC_MEDIA_PATH } from "../local/public-media.js";
import { type CloudflarePurgeApi, startCloudflarePurgeApi } from "./support/cloudflare-api.js";
import { sha256Base64, uniqueId } from "./support/fixtures.js";
import { imageCodecs } from "./support/image-codecs.js";

const MEDIA = "media-takedown";
const COMPLIANCE = "compliance-takedown";
const PUBLIC = "public-takedown";
const CDN_BASE_URL = "https://media.fitkit.test/";
const ZONE = "0123456789abcdef0123456789abcdef";
const TOKEN = "cache-purge-token";

let s3: EmbeddedS3;
let objects: S3ObjectStore;
let api: CloudflarePurgeApi;
let cloudflare: EdgeCache;
let publicServer: Server;
let localBaseUrl: string;
const store = new MemoryStore();
const erasures = new MemoryErasures(store);

beforeAll(async () => {
  [s3, api] = await Promise.all([
    startEmbeddedS3({ directory: await mkdtemp(join(tmpdir(), "fitkit-takedown-")), buckets: [MEDIA, COMPLIANCE, PUBLIC] }),
    startCloudflarePurgeApi({ zoneId: ZONE, apiToken: TOKEN }),
  ]);
  objects = new S3ObjectStore(createS3Client({ endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }));
  cloudflare = new CloudflareCachePurge({ zoneId: ZONE, apiToken: TOKEN, timeoutMs: 2000, apiBaseUrl: api.apiBaseUrl });
  // The local stack's public media route, on its own server (local/stack.ts mounts the same route).
  const route = createPublicMediaRoute({ name: PUBLIC, baseUrl: "unused", objects });
  publicServer = createServer((req, res) => {
    void route(req, res).then((served) => {
      if (!served) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => publicServer.listen(0, "127.0.0.1", resolve));
  localBaseUrl = `http://127.0.0.1:${(publicServer.address() as AddressInfo).port}${PUBLIC_MEDIA_PATH}`;
}, 30_000);
afterAll(async () => {
  await new Promise((resolve) => publicServer?.close(resolve));
  await Promise.all([s3?.close(), api?.close()]);
});

/** A consumed, processed organisation logo in a fresh org (a real 900×500 PNG as its original variant). */
async function processedLogo(): Promise<{ orgId: string; userId: string; key: string }> {
  const orgId = uniqueId("org");
  const userId = uniqueId("user");
  const uploadId = uniqueId("u");
  const key = `${orgId}/organization_logo/${userId}/${uploadId}.png`;
  const upload = { uploadId, ownerType: "organization_logo" as const, orgId, userId, bucket: MEDIA, key, contentType: "image/png", size: 100 };
  await store.stage({ uploads: [upload], lifetimeSeconds: 600, quota: { orgId, defaultQuotaBytes: 1e9 } });
  await store.commitConsume({
    uploadIds: [uploadId],
    owner: { orgId, userId },
    ownerType: upload.ownerType,
    replayKey: uniqueId("r"),
    stored: { fingerprint: "f", response: "{}" },
    replayTtlSeconds: 60,
    finalObjects: [{ bucket: MEDIA, key }],
  });
  const png = await sharp({ create: { width: 900, height: 500, channels: 3, background: { r: 200, g: 60, b: 30 } } })
    .png()
    .toBuffer();
  const original = variantKey(key, "original", "png");
  await objects.put({ bucket: MEDIA, key: original, body: png, contentType: "image/png", checksumSha256: sha256Base64(png) });
  const variant = { key: original, contentType: "image/png", size: png.length };
  await store.recordMedia(
    { bucket: MEDIA, key, orgId },
    { status: "ready", width: 900, height: 500, placeholder: "AAAA", variants: { original: variant, display: variant, thumb: variant } },
  );
  return { orgId, userId, key };
}

const deps = (baseUrl: string, edgeCache: EdgeCache) => ({
  mediaBucket: MEDIA,
  media: objects,
  variants: store,
  published: store,
  public: { name: PUBLIC, baseUrl, objects },
  edgeCache,
  images: imageCodecs.codec,
});

/** Every URL a publish answer hands out: the `<img>` src, its srcset and the AVIF sources. */
const servedUrls = (answer: PublishResponse) =>
  [answer.url, ...[answer.srcset, ...answer.sources.map((source) => source.srcset)].flatMap((set) => set.split(", ").map((entry) => entry.split(" ")[0]!))]
    .filter((url, index, all) => all.indexOf(url) === index)
    .sort();

describe("unpublish behind Cloudflare's cache", () => {
  it("purges exactly the URLs publish handed out, once the renditions are deleted", async () => {
    const { orgId, key } = await processedLogo();
    const answer = await publish(deps(CDN_BASE_URL, cloudflare), { orgId, key });
    const before = api.purges.length;

    const result = await unpublish(deps(CDN_BASE_URL, cloudflare), { orgId, key });

    expect(api.purges.slice(before).flat().sort()).toEqual(servedUrls(answer));
    expect(result).toEqual({ deleted: servedUrls(answer).length });
    for (const url of servedUrls(answer)) expect(await objects.head(PUBLIC, url.slice(CDN_BASE_URL.length))).toBeNull();
  });

  it("a purge Cloudflare refuses is a 503 (dependency cdn) that keeps the record; the retry purges and completes", async () => {
    const { orgId, key } = await processedLogo();
    const answer = await publish(deps(CDN_BASE_URL, cloudflare), { orgId, key });
    const [item] = await store.publishedItems(orgId);
    api.refuseNext({
      status: 429,
      headers: { "retry-after": "60" },
      body: JSON.stringify({ success: false, errors: [{ code: 1015, message: "rate limited" }] }),
    });

    await expect(unpublish(deps(CDN_BASE_URL, cloudflare), { orgId, key })).rejects.toMatchObject({
      code: "DEPENDENCY_UNAVAILABLE",
      status: 503,
      dependency: "cdn",
    });
    expect(await store.publishedItems(orgId)).toEqual([item]);

    const before = api.purges.length;
    expect(await unpublish(deps(CDN_BASE_URL, cloudflare), { orgId, key })).toEqual({ deleted: item!.renditions.length });
    expect(api.purges.slice(before).flat().sort()).toEqual(servedUrls(answer));
    expect(await store.publishedItems(orgId)).toEqual([]);
  });

  it("releasing a published upload purges its URLs too", async () => {
    const { orgId, key } = await processedLogo();
    const answer = await publish(deps(CDN_BASE_URL, cloudflare), { orgId, key });
    const before = api.purges.length;

    const released = await release(
      { links: store, objects, buckets: { media: MEDIA, compliance: COMPLIANCE }, unpublishing: deps(CDN_BASE_URL, cloudflare) },
      { orgId, keys: [key] },
    );

    expect(released.released).toBe(1);
    expect(api.purges.slice(before).flat().sort()).toEqual(servedUrls(answer));
  });
});

describe("erasure behind Cloudflare's cache", () => {
  const eraseDeps = (edgeCache: EdgeCache): EraseDeps => ({
    erasures,
    store,
    links: store,
    variants: store,
    objects,
    buckets: { media: MEDIA, compliance: COMPLIANCE },
    unpublishing: { published: store, public: { name: PUBLIC, baseUrl: CDN_BASE_URL, objects }, edgeCache },
    recordsRetentionSeconds: 3600,
  });
  /** A published logo whose uploaded bytes are stored too: the erasure finds uploads by listing them. */
  const storedLogo = async () => {
    const logo = await processedLogo();
    const bytes = Buffer.from("the uploaded logo");
    await objects.put({
      bucket: MEDIA,
      key: logo.key,
      body: bytes,
      contentType: "image/png",
      checksumSha256: sha256Base64(bytes),
    });
    return logo;
  };
  const renditionsGone = async (answer: PublishResponse) => {
    const left = await Promise.all(servedUrls(answer).map((url) => objects.head(PUBLIC, url.slice(CDN_BASE_URL.length))));
    return left.every((head) => head === null);
  };

  it("erase-user purges exactly the URLs publish handed out for the member's published upload", async () => {
    const { orgId, userId, key } = await storedLogo();
    const answer = await publish(deps(CDN_BASE_URL, cloudflare), { orgId, key });
    const before = api.purges.length;

    const erased = await eraseUser(eraseDeps(cloudflare), { orgId, userId, idempotencyKey: uniqueId("erase"), batchSize: 500 });

    expect(erased.status).toBe("complete");
    expect(api.purges.slice(before).flat().sort()).toEqual(servedUrls(answer));
    expect({ gone: await renditionsGone(answer), published: await store.publishedItems(orgId) }).toEqual({ gone: true, published: [] });
  });

  it("erase-org purges exactly the URLs publish handed out for the org's published uploads", async () => {
    const { orgId, key } = await storedLogo();
    const answer = await publish(deps(CDN_BASE_URL, cloudflare), { orgId, key });
    const before = api.purges.length;

    const erased = await eraseOrg(eraseDeps(cloudflare), { orgId, idempotencyKey: uniqueId("erase"), batchSize: 500 });

    expect(erased.status).toBe("complete");
    expect(api.purges.slice(before).flat().sort()).toEqual(servedUrls(answer));
    expect({ gone: await renditionsGone(answer), published: await store.publishedItems(orgId) }).toEqual({ gone: true, published: [] });
  });

  it("a purge Cloudflare refuses fails the erasure step with 503 (cdn) and keeps the record; called again, it purges and completes", async () => {
    const { orgId, userId, key } = await storedLogo();
    const answer = await publish(deps(CDN_BASE_URL, cloudflare), { orgId, key });
    const [item] = await store.publishedItems(orgId);
    const request = { orgId, userId, idempotencyKey: uniqueId("erase"), batchSize: 500 };
    api.refuseNext({ status: 500, headers: { "content-type": "application/json" }, body: JSON.stringify({ success: false, errors: [] }) });

    await expect(eraseUser(eraseDeps(cloudflare), request)).rejects.toMatchObject({ code: "DEPENDENCY_UNAVAILABLE", status: 503, dependency: "cdn" });
    expect(await store.publishedItems(orgId)).toEqual([item]);

    const before = api.purges.length;
    expect((await eraseUser(eraseDeps(cloudflare), request)).status).toBe("complete");
    expect(api.purges.slice(before).flat().sort()).toEqual(servedUrls(answer));
    expect(await store.publishedItems(orgId)).toEqual([]);
  });
});

describe("the local public media server", () => {
  it("stops serving an unpublished rendition at once (no cache in front, nothing to purge)", async () => {
    const { orgId, key } = await processedLogo();
    const answer = await publish(deps(localBaseUrl, NO_EDGE_CACHE), { orgId, key });
    const served = await fetch(answer.url);
    expect({ status: served.status, cacheControl: served.headers.get("cache-control") }).toEqual({
      status: 200,
      cacheControl: "public, max-age=31536000, immutable",
    });
    await served.arrayBuffer();

    await unpublish(deps(localBaseUrl, NO_EDGE_CACHE), { orgId, key });

    for (const url of servedUrls(answer)) {
      expect({ url, get: (await fetch(url)).status, head: (await fetch(url, { method: "HEAD" })).status }).toEqual({ url, get: 404, head: 404 });
    }
  });
});
