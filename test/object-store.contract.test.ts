/**
 * The contract of the ObjectStore port, run against the in-memory store, the S3 adapter on the
 * real embedded S3 server, and the lean S3 client consume uses (`S3HttpObjectStore`: HEAD, ranged
 * GET, copy and DeleteObjects over signed HTTP, with the SDK adapter doing the rest of each test's
 * setup — puts, listings, multipart): all must answer as S3/R2 do. Where the embedded server differs from
 * R2 the adapter's capability says so (it keeps no checksums) or the test avoids the difference
 * (it lists a key before a longer key it prefixes in the wrong order, and resets a range read of
 * an empty object): those are the server's bugs, not behaviours to copy.
 */
import { createHash } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutObjectCommand, UploadPartCommand } from "@aws-sdk/client-s3";
import { MemoryObjectStore } from "@fitkit/core/adapters/memory/memory-object-store";
import { createS3Client } from "@fitkit/core/adapters/s3/s3-client";
import { S3HttpObjectStore } from "@fitkit/core/adapters/s3/s3-http-object-store";
import { S3ObjectStore } from "@fitkit/core/adapters/s3/s3-object-store";
import type { ObjectStore, PutObjectInput, ServedHeaders } from "@fitkit/core/storage/object-store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedS3, startEmbeddedS3 } from "../local/embedded-s3.js";
import { sha256Base64, uniqueId } from "./support/fixtures.js";

const BUCKET = "contract-a";
const OTHER_BUCKET = "contract-b";

/** What an uploader can leave on an object beside the signed headers (a presigned PUT does not sign these). */
interface UnsignedUpload {
  bucket: string;
  key: string;
  body: Uint8Array;
  contentType: string;
  servedHeaders: ServedHeaders;
  metadata: Record<string, string>;
}

interface ObjectStoreAdapter {
  name: string;
  /** R2 keeps a PUT's SHA-256 and answers it on HEAD; the embedded server keeps none. */
  keepsChecksums: boolean;
  open(): Promise<{
    objects: ObjectStore;
    plantUnsigned(upload: UnsignedUpload): Promise<void>;
    /** What a client's presigned UploadPart does; answers the part's etag. */
    uploadPart(bucket: string, key: string, storageUploadId: string, partNumber: number, body: Uint8Array): Promise<string>;
    close(): Promise<void>;
  }>;
}

/** The SDK adapter on a fresh embedded S3 server (with the server, for the lean client's settings). */
type OpenedAdapter = Awaited<ReturnType<ObjectStoreAdapter["open"]>>;

async function sdkAdapterOn(): Promise<OpenedAdapter & { s3: EmbeddedS3 }> {
  const s3: EmbeddedS3 = await startEmbeddedS3({ directory: await mkdtemp(join(tmpdir(), "fitkit-s3-contract-")), buckets: [BUCKET, OTHER_BUCKET] });
  const client = createS3Client({ endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey });
  return {
    s3,
    objects: new S3ObjectStore(client),
    plantUnsigned: async (u) => {
      const h = u.servedHeaders;
      await client.send(
        new PutObjectCommand({
          Bucket: u.bucket,
          Key: u.key,
          Body: u.body,
          ContentType: u.contentType,
          CacheControl: h.cacheControl,
          ContentDisposition: h.contentDisposition,
          ContentEncoding: h.contentEncoding,
          ContentLanguage: h.contentLanguage,
          ...(h.expires ? { Expires: new Date(h.expires) } : {}),
          Metadata: u.metadata,
        }),
      );
    },
    uploadPart: async (bucket, key, storageUploadId, partNumber, body) => {
      const out = await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: storageUploadId, PartNumber: partNumber, Body: body }));
      return out.ETag!;
    },
    close: () => s3.close(),
  };
}

const ADAPTERS: ObjectStoreAdapter[] = [
  {
    name: "memory",
    keepsChecksums: true,
    open: async () => {
      const objects = new MemoryObjectStore();
      return {
        objects,
        plantUnsigned: async (u) => {
          objects.objects.set(`${u.bucket}/${u.key}`, {
            body: u.body,
            contentType: u.contentType,
            etag: md5Etag(u.body),
            servedHeaders: u.servedHeaders,
            metadata: u.metadata,
          });
        },
        uploadPart: async (bucket, key, storageUploadId, partNumber, body) => {
          const etag = objects.uploadPart(bucket, key, storageUploadId, partNumber, body);
          if (!etag) throw new Error("NoSuchUpload");
          return etag;
        },
        close: async () => undefined,
      };
    },
  },
  {
    name: "s3 on the embedded server",
    keepsChecksums: false,
    open: () => sdkAdapterOn(),
  },
  {
    name: "lean s3 (consume's calls) on the embedded server",
    keepsChecksums: false,
    open: async () => {
      const sdk = await sdkAdapterOn();
      const settings = { endpoint: sdk.s3.endpoint, region: sdk.s3.region, accessKeyId: sdk.s3.accessKeyId, secretAccessKey: sdk.s3.secretAccessKey };
      const lean = new S3HttpObjectStore({ settingsFor: () => settings });
      const objects: ObjectStore = {
        head: (bucket, key) => lean.head(bucket, key),
        readFirstBytes: (bucket, key, length) => lean.readFirstBytes(bucket, key, length),
        stream: (bucket, key, maxBytes) => lean.stream(bucket, key, maxBytes),
        copy: (bucket, fromKey, toKey, toBucket) => lean.copy(bucket, fromKey, toKey, toBucket),
        deleteObjects: (bucket, keys) => lean.deleteObjects(bucket, keys),
        put: (input) => sdk.objects.put(input),
        list: (bucket, prefix, options) => sdk.objects.list(bucket, prefix, options),
        createMultipart: (bucket, key, contentType) => sdk.objects.createMultipart(bucket, key, contentType),
        listParts: (bucket, key, id) => sdk.objects.listParts(bucket, key, id),
        completeMultipart: (bucket, key, id, parts) => sdk.objects.completeMultipart(bucket, key, id, parts),
        abortMultipart: (bucket, key, id) => sdk.objects.abortMultipart(bucket, key, id),
      };
      return { ...sdk, objects };
    },
  },
];

const bytesOf = (text: string): Uint8Array => new Uint8Array(Buffer.from(text));
const md5Etag = (body: Uint8Array): string => `"${createHash("md5").update(body).digest("hex")}"`;

async function drain(stream: AsyncIterable<Uint8Array> | null): Promise<Buffer | null> {
  if (!stream) return null;
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The pages of a listing, without `lastModified` (its own test checks it). */
async function listAll(objects: ObjectStore, bucket: string, prefix: string): Promise<{ key: string; size: number }[][]> {
  const pages: { key: string; size: number }[][] = [];
  for await (const page of objects.list(bucket, prefix)) pages.push(page.map(({ key, size }) => ({ key, size })));
  return pages;
}

describe.each(ADAPTERS)("object store contract: $name", (adapter) => {
  let objects: ObjectStore;
  let plantUnsigned: (upload: UnsignedUpload) => Promise<void>;
  let close: () => Promise<void>;
  let uploadPart: (bucket: string, key: string, storageUploadId: string, partNumber: number, body: Uint8Array) => Promise<string>;
  beforeAll(async () => {
    ({ objects, plantUnsigned, uploadPart, close } = await adapter.open());
  });
  afterAll(() => close?.());

  const put = (key: string, body: Uint8Array, overrides: Partial<PutObjectInput> = {}) =>
    objects.put({ bucket: BUCKET, key, body, contentType: "image/png", checksumSha256: sha256Base64(body), ...overrides });
  const read = async (key: string) => drain(await objects.stream(BUCKET, key, 1 << 20));

  describe("head and put", () => {
    it("answers a missing object with null", async () => {
      expect(await objects.head(BUCKET, uniqueId("missing"))).toBeNull();
    });

    it("stores the bytes with their type; put and head answer the same etag (the MD5 of a single PUT)", async () => {
      const key = uniqueId("o/put");
      const body = bytesOf("the stored bytes");

      const stored = await put(key, body);
      const info = await objects.head(BUCKET, key);

      expect(stored).toEqual({ ok: true, etag: md5Etag(body) });
      expect(info).toEqual({
        size: body.length,
        contentType: "image/png",
        etag: md5Etag(body),
        ...(adapter.keepsChecksums ? { checksumSha256: sha256Base64(body) } : {}),
      });
    });

    it("answers the response headers and user metadata an upload left on the object", async () => {
      const key = uniqueId("o/served");
      const body = bytesOf("hostile");
      const servedHeaders = {
        cacheControl: "public, max-age=31536000",
        contentDisposition: 'attachment; filename="evil.html"',
        contentEncoding: "gzip",
        contentLanguage: "en",
        expires: "Thu, 01 Dec 2044 16:00:00 GMT",
      };
      await plantUnsigned({ bucket: BUCKET, key, body, contentType: "image/png", servedHeaders, metadata: { note: "hello" } });

      expect(await objects.head(BUCKET, key)).toEqual({
        size: body.length,
        contentType: "image/png",
        etag: md5Etag(body),
        servedHeaders,
        metadata: { note: "hello" },
      });
    });

    it("answers the metadata a put stored (names in lower case), and no served headers", async () => {
      const key = uniqueId("o/metadata");
      const body = bytesOf("with metadata");

      await put(key, body, { metadata: { "Form-Id": "form_1", sha256: sha256Base64(body) } });

      expect(await objects.head(BUCKET, key)).toEqual({
        size: body.length,
        contentType: "image/png",
        etag: md5Etag(body),
        ...(adapter.keepsChecksums ? { checksumSha256: sha256Base64(body) } : {}),
        metadata: { "form-id": "form_1", sha256: sha256Base64(body) },
      });
    });

    it("keeps the cache-control a put stored and serves it as a response header", async () => {
      const key = uniqueId("o/immutable");
      const body = bytesOf("a published rendition");

      await put(key, body, { contentType: "image/webp", cacheControl: "public, max-age=31536000, immutable" });

      expect(await objects.head(BUCKET, key)).toEqual({
        size: body.length,
        contentType: "image/webp",
        etag: md5Etag(body),
        ...(adapter.keepsChecksums ? { checksumSha256: sha256Base64(body) } : {}),
        servedHeaders: { cacheControl: "public, max-age=31536000, immutable" },
      });
    });

    it("keeps its own copy: changing the caller's buffer after the put does not change the object", async () => {
      const key = uniqueId("o/copy-of-bytes");
      const body = bytesOf("original");
      await put(key, body);

      body.fill(0);

      expect(await read(key)).toEqual(Buffer.from("original"));
    });

    it("overwrites an object when no condition is given", async () => {
      const key = uniqueId("o/overwrite");
      await put(key, bytesOf("first"));

      const second = await put(key, bytesOf("second, longer"), { contentType: "application/pdf" });

      expect(second).toEqual({ ok: true, etag: md5Etag(bytesOf("second, longer")) });
      expect(await objects.head(BUCKET, key)).toMatchObject({ size: 14, contentType: "application/pdf" });
    });

    it("with ifNoneMatch, writes a free key and refuses an existing one as precondition_failed, keeping the first bytes", async () => {
      const key = uniqueId("o/if-none-match");

      const first = await put(key, bytesOf("first"), { ifNoneMatch: true });
      const second = await put(key, bytesOf("second"), { ifNoneMatch: true });

      expect(first).toEqual({ ok: true, etag: md5Etag(bytesOf("first")) });
      expect(second).toEqual({ ok: false, reason: "precondition_failed" });
      expect(await read(key)).toEqual(Buffer.from("first"));
    });

    it("with ifMatch, replaces the object that has the etag and refuses a stale etag as precondition_failed", async () => {
      const key = uniqueId("o/if-match");
      const first = await put(key, bytesOf("first"));
      const firstEtag = first.ok ? first.etag : "";

      const replaced = await put(key, bytesOf("second"), { ifMatch: firstEtag });
      const stale = await put(key, bytesOf("third"), { ifMatch: firstEtag });

      expect(replaced).toEqual({ ok: true, etag: md5Etag(bytesOf("second")) });
      expect(stale).toEqual({ ok: false, reason: "precondition_failed" });
      expect(await read(key)).toEqual(Buffer.from("second"));
    });

    it("with ifMatch, refuses a key that has no object as precondition_failed and stores nothing", async () => {
      const key = uniqueId("o/if-match-missing");

      const outcome = await put(key, bytesOf("bytes"), { ifMatch: md5Etag(bytesOf("bytes")) });

      expect(outcome).toEqual({ ok: false, reason: "precondition_failed" });
      expect(await objects.head(BUCKET, key)).toBeNull();
    });

    it("keeps buckets apart", async () => {
      const key = uniqueId("o/bucket");
      await put(key, bytesOf("in A"));

      expect(await objects.head(OTHER_BUCKET, key)).toBeNull();
    });
  });

  describe("reads", () => {
    const body = bytesOf("0123456789abcdef");

    it("readFirstBytes answers the first bytes, the whole object when it is shorter, and null when there is none", async () => {
      const key = uniqueId("o/read");
      await put(key, body);

      expect(Buffer.from((await objects.readFirstBytes(BUCKET, key, 4))!)).toEqual(Buffer.from("0123"));
      expect(Buffer.from((await objects.readFirstBytes(BUCKET, key, 100))!)).toEqual(Buffer.from(body));
      expect(await objects.readFirstBytes(BUCKET, uniqueId("o/missing"), 4)).toBeNull();
    });

    it("stream yields at most maxBytes, the whole object when it is shorter, and is null when there is none", async () => {
      const key = uniqueId("o/stream");
      await put(key, body);

      expect(await drain(await objects.stream(BUCKET, key, 10))).toEqual(Buffer.from("0123456789"));
      expect(await drain(await objects.stream(BUCKET, key, 1000))).toEqual(Buffer.from(body));
      expect(await objects.stream(BUCKET, uniqueId("o/missing"), 10)).toBeNull();
    });
  });

  describe("copy", () => {
    it("copies bytes, type, metadata and etag to the new key, keeps the source, and is safe to repeat", async () => {
      const from = uniqueId("o/copy-from");
      const to = uniqueId("o/copy-to");
      const body = bytesOf("copied bytes");
      await put(from, body, { contentType: "application/pdf", metadata: { "form-id": "form_1" } });

      const first = await objects.copy(BUCKET, from, to);
      const again = await objects.copy(BUCKET, from, to);

      expect(first).toEqual({ etag: md5Etag(body) });
      expect(again).toEqual(first);
      expect(await objects.head(BUCKET, to)).toMatchObject({
        size: body.length,
        contentType: "application/pdf",
        etag: md5Etag(body),
        metadata: { "form-id": "form_1" },
      });
      expect(await read(to)).toEqual(Buffer.from(body));
      expect(await objects.head(BUCKET, from)).not.toBeNull();
    });

    it("answers a missing source with null and creates nothing", async () => {
      const to = uniqueId("o/copy-to");

      expect(await objects.copy(BUCKET, uniqueId("o/copy-missing"), to)).toBeNull();
      expect(await objects.head(BUCKET, to)).toBeNull();
    });
  });

  describe("list", () => {
    it("resumes after a key with startAfter: only later keys of the prefix, the key itself excluded, whether it still exists or not", async () => {
      const prefix = `${uniqueId("after")}/`;
      for (const name of ["a", "b", "c", "d"]) await put(`${prefix}${name}`, bytesOf(name));
      const keysAfter = async (startAfter: string) => {
        const keys: string[] = [];
        for await (const page of objects.list(BUCKET, prefix, { startAfter })) keys.push(...page.map((o) => o.key));
        return keys;
      };

      expect(await keysAfter(`${prefix}b`)).toEqual([`${prefix}c`, `${prefix}d`]);
      await objects.deleteObjects(BUCKET, [`${prefix}c`]);
      expect(await keysAfter(`${prefix}c`)).toEqual([`${prefix}d`]);
      expect(await keysAfter(`${prefix}d`)).toEqual([]);
    });

    it("lists only the prefix, in UTF-8 key order, with sizes; an empty prefix yields no page", async () => {
      const prefix = `${uniqueId("list")}/`;
      // Out of order on purpose; "\uFF01" sorts before "😀" in UTF-8 but after it in UTF-16.
      for (const [name, size] of [
        ["😀", 4],
        ["b", 2],
        ["\uFF01", 3],
        ["A", 1],
        ["é", 5],
      ] as const)
        await put(`${prefix}${name}`, new Uint8Array(size).fill(1));
      await put(`${prefix.slice(0, -1)}-sibling/x`, bytesOf("not under the prefix"));
      await objects.put({
        bucket: OTHER_BUCKET,
        key: `${prefix}other-bucket`,
        body: bytesOf("x"),
        contentType: "image/png",
        checksumSha256: sha256Base64(bytesOf("x")),
      });

      const pages = await listAll(objects, BUCKET, prefix);

      expect(pages).toEqual([
        [
          { key: `${prefix}A`, size: 1 },
          { key: `${prefix}b`, size: 2 },
          { key: `${prefix}é`, size: 5 },
          { key: `${prefix}\uFF01`, size: 3 },
          { key: `${prefix}😀`, size: 4 },
        ],
      ]);
      expect(await listAll(objects, BUCKET, `${uniqueId("empty")}/`)).toEqual([]);
    });

    it("answers each object's last write time (storage keeps whole seconds), which a rewrite moves", async () => {
      const prefix = `${uniqueId("modified")}/`;
      const before = Math.floor(Date.now() / 1000) * 1000;
      await put(`${prefix}a`, bytesOf("first"));
      const after = Date.now();

      const listed = [];
      for await (const page of objects.list(BUCKET, prefix)) listed.push(...page);

      expect(listed).toHaveLength(1);
      expect(listed[0]!.lastModified).toBeGreaterThanOrEqual(before);
      expect(listed[0]!.lastModified).toBeLessThanOrEqual(after);

      await new Promise((resolve) => setTimeout(resolve, 1100));
      await put(`${prefix}a`, bytesOf("second"));
      const relisted = [];
      for await (const page of objects.list(BUCKET, prefix)) relisted.push(...page);
      expect(relisted[0]!.lastModified).toBeGreaterThan(listed[0]!.lastModified);
    });

    it("pages more than 1000 objects in pages of 1000", { timeout: 60_000 }, async () => {
      const prefix = `${uniqueId("many")}/`;
      const keys = Array.from({ length: 1001 }, (_, i) => `${prefix}${String(i).padStart(5, "0")}`);
      let next = 0;
      // A few writers at a time: the embedded server handles one request at a time anyway.
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < keys.length) await put(keys[next++]!, bytesOf("x"));
        }),
      );

      const pages = await listAll(objects, BUCKET, prefix);

      expect(pages.map((page) => page.length)).toEqual([1000, 1]);
      expect(pages.flat().map((o) => o.key)).toEqual(keys);
    });
  });

  describe("deleteObjects", () => {
    it("deletes the keys, counting missing keys as deleted", async () => {
      const key = uniqueId("o/delete");
      const missing = uniqueId("o/never-stored");
      await put(key, bytesOf("doomed"));

      const outcome = await objects.deleteObjects(BUCKET, [key, missing]);

      expect(outcome).toEqual({ deleted: [key, missing], failed: [] });
      expect(await objects.head(BUCKET, key)).toBeNull();
    });

    it("answers an empty list with nothing deleted", async () => {
      expect(await objects.deleteObjects(BUCKET, [])).toEqual({ deleted: [], failed: [] });
    });

    it("deletes more than 1000 keys in one call, in key order, wherever they fall in it", async () => {
      const prefix = `${uniqueId("bulk")}/`;
      const keys = Array.from({ length: 2500 }, (_, i) => `${prefix}${String(i).padStart(5, "0")}`);
      const stored = [0, 999, 1000, 2001, 2499].map((i) => keys[i]!);
      for (const key of stored) await put(key, bytesOf("x"));

      const outcome = await objects.deleteObjects(BUCKET, keys);

      expect(outcome).toEqual({ deleted: keys, failed: [] });
      expect(await Promise.all(stored.map((key) => objects.head(BUCKET, key)))).toEqual(stored.map(() => null));
    });
  });

  describe("multipart uploads", () => {
    const MIB = 1024 * 1024;
    const filled = (size: number, byte: number) => new Uint8Array(size).fill(byte);

    it("assembles the listed parts into the object with the upload's type; the upload is gone afterwards", async () => {
      const key = uniqueId("mp/ok");
      const { storageUploadId } = await objects.createMultipart(BUCKET, key, "video/mp4");
      const first = filled(5 * MIB, 1);
      const last = filled(10, 2);
      const etags = [await uploadPart(BUCKET, key, storageUploadId, 1, first), await uploadPart(BUCKET, key, storageUploadId, 2, last)];

      expect(await objects.listParts(BUCKET, key, storageUploadId)).toEqual([
        { partNumber: 1, size: 5 * MIB, etag: etags[0] },
        { partNumber: 2, size: 10, etag: etags[1] },
      ]);
      const outcome = await objects.completeMultipart(BUCKET, key, storageUploadId, [
        { partNumber: 1, etag: etags[0]! },
        { partNumber: 2, etag: etags[1]! },
      ]);

      expect(outcome.ok).toBe(true);
      const info = await objects.head(BUCKET, key);
      expect({ size: info?.size, contentType: info?.contentType }).toEqual({ size: 5 * MIB + 10, contentType: "video/mp4" });
      expect(await objects.listParts(BUCKET, key, storageUploadId)).toBeNull();
      expect(await objects.completeMultipart(BUCKET, key, storageUploadId, [{ partNumber: 1, etag: etags[0]! }])).toEqual({
        ok: false,
        reason: "no_such_upload",
      });
    });

    it("refuses to complete with a part missing, and keeps the upload", async () => {
      const key = uniqueId("mp/missing");
      const { storageUploadId } = await objects.createMultipart(BUCKET, key, "video/mp4");
      const etag = await uploadPart(BUCKET, key, storageUploadId, 1, filled(5 * MIB, 3));

      const outcome = await objects.completeMultipart(BUCKET, key, storageUploadId, [
        { partNumber: 1, etag },
        { partNumber: 2, etag },
      ]);

      expect(outcome).toEqual({ ok: false, reason: "invalid_part" });
      expect(await objects.head(BUCKET, key)).toBeNull();
      expect(await objects.listParts(BUCKET, key, storageUploadId)).toHaveLength(1);
    });

    it("refuses non-trailing parts of different sizes (R2's rule)", async () => {
      const key = uniqueId("mp/uneven");
      const { storageUploadId } = await objects.createMultipart(BUCKET, key, "video/mp4");
      const sizes = [5 * MIB, 5 * MIB + 1, 3];
      const etags: string[] = [];
      for (const [i, size] of sizes.entries()) etags.push(await uploadPart(BUCKET, key, storageUploadId, i + 1, filled(size, i)));

      const outcome = await objects.completeMultipart(
        BUCKET,
        key,
        storageUploadId,
        etags.map((etag, i) => ({ partNumber: i + 1, etag })),
      );

      expect(outcome).toEqual({ ok: false, reason: "invalid_part" });
    });

    it("abort discards the upload; a second abort answers false", async () => {
      const key = uniqueId("mp/abort");
      const { storageUploadId } = await objects.createMultipart(BUCKET, key, "video/mp4");
      await uploadPart(BUCKET, key, storageUploadId, 1, filled(10, 4));

      expect(await objects.abortMultipart(BUCKET, key, storageUploadId)).toBe(true);
      expect(await objects.listParts(BUCKET, key, storageUploadId)).toBeNull();
      expect(await objects.abortMultipart(BUCKET, key, storageUploadId)).toBe(false);
      expect(await objects.head(BUCKET, key)).toBeNull();
    });

    it("an upload id answers only for its own key", async () => {
      const key = uniqueId("mp/bound");
      const { storageUploadId } = await objects.createMultipart(BUCKET, key, "video/mp4");

      expect(await objects.listParts(BUCKET, `${key}-other`, storageUploadId)).toBeNull();
      expect(await objects.abortMultipart(BUCKET, `${key}-other`, storageUploadId)).toBe(false);
    });
  });
});
