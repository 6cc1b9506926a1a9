// The embedded S3 server's multipart API (patched @20minutes/s3rver), exercised with the real AWS
// SDK and real HTTP: what R2 enforces on multipart uploads and the upload pipeline relies on.
import { createHash } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedS3, startEmbeddedS3 } from "../local/embedded-s3.ts";

const BUCKET = "media";
const MIB = 1024 * 1024;

let dir: string;
let s3: EmbeddedS3;
let client: S3Client;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "embedded-s3-multipart-"));
  s3 = await startEmbeddedS3({ directory: dir, buckets: [BUCKET] });
  client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
});

afterAll(async () => {
  client?.destroy();
  await s3?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof S3ServiceException) return { name: error.name, status: error.$metadata.httpStatusCode };
    throw error;
  }
  throw new Error("expected the request to be rejected");
}

function bytes(size: number, seed: number): Buffer {
  const buffer = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4096) buffer[i] = (seed + i / 4096) & 0xff;
  return buffer;
}

function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

async function begin(key: string): Promise<string> {
  const created = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ContentType: "video/mp4" }));
  return created.UploadId!;
}

async function uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer): Promise<string> {
  const result = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body }));
  return result.ETag!;
}

/** A presigned UploadPart URL pinning the part's content-length, as the parts use-case signs it. */
function presignPart(key: string, uploadId: string, partNumber: number, contentLength: number): Promise<string> {
  return getSignedUrl(client, new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, PartNumber: partNumber, ContentLength: contentLength }), {
    expiresIn: 300,
    signableHeaders: new Set(["content-length"]),
  });
}

async function listParts(key: string, uploadId: string) {
  const listed = await client.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }));
  return (listed.Parts ?? []).map((part) => ({ partNumber: part.PartNumber, size: part.Size, etag: part.ETag }));
}

describe("embedded S3 multipart uploads", () => {
  it("assembles the parts in order into one object, and the upload is gone afterwards", async () => {
    const key = "multipart/assembled.mp4";
    const uploadId = await begin(key);
    const first = bytes(5 * MIB, 1);
    const last = bytes(1234, 2);
    const etags = [await uploadPart(key, uploadId, 1, first), await uploadPart(key, uploadId, 2, last)];

    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: etags.map((ETag, index) => ({ ETag, PartNumber: index + 1 })) },
      }),
    );

    const object = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(object.ContentType).toBe("video/mp4");
    // compared by digest: a deep equality over megabytes is very slow
    expect(sha256(await object.Body!.transformToByteArray())).toBe(sha256(Buffer.concat([first, last])));
    expect(await rejection(listParts(key, uploadId))).toEqual({ name: "NoSuchUpload", status: 404 });
  });

  it("ListParts reports each stored part with its size and ETag, ascending", async () => {
    const key = "multipart/listed.mp4";
    const uploadId = await begin(key);
    const etag2 = await uploadPart(key, uploadId, 2, bytes(100, 3));
    const etag1 = await uploadPart(key, uploadId, 1, bytes(5 * MIB, 4));

    expect(await listParts(key, uploadId)).toEqual([
      { partNumber: 1, size: 5 * MIB, etag: etag1 },
      { partNumber: 2, size: 100, etag: etag2 },
    ]);
  });

  it("ListParts pages with max-parts and part-number-marker", async () => {
    const key = "multipart/paged.mp4";
    const uploadId = await begin(key);
    for (const number of [1, 2, 3]) await uploadPart(key, uploadId, number, bytes(10, number));

    const page = await client.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, MaxParts: 2 }));
    const rest = await client.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, PartNumberMarker: page.NextPartNumberMarker }));

    expect(page.Parts?.map((part) => part.PartNumber)).toEqual([1, 2]);
    expect(page.IsTruncated).toBe(true);
    expect(rest.Parts?.map((part) => part.PartNumber)).toEqual([3]);
    expect(rest.IsTruncated).toBe(false);
  });

  it("AbortMultipartUpload discards the parts: ListParts, UploadPart and Complete then get NoSuchUpload", async () => {
    const key = "multipart/aborted.mp4";
    const uploadId = await begin(key);
    const etag = await uploadPart(key, uploadId, 1, bytes(10, 5));

    await client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }));

    expect(await rejection(listParts(key, uploadId))).toEqual({ name: "NoSuchUpload", status: 404 });
    expect(await rejection(uploadPart(key, uploadId, 2, bytes(10, 6)))).toEqual({ name: "NoSuchUpload", status: 404 });
    expect(
      await rejection(
        client.send(
          new CompleteMultipartUploadCommand({
            Bucket: BUCKET,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: [{ ETag: etag, PartNumber: 1 }] },
          }),
        ),
      ),
    ).toEqual({ name: "NoSuchUpload", status: 404 });
    expect(await rejection(client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId })))).toEqual({
      name: "NoSuchUpload",
      status: 404,
    });
  });

  it("an upload id is bound to its key", async () => {
    const uploadId = await begin("multipart/bound.mp4");

    expect(await rejection(listParts("multipart/other.mp4", uploadId))).toEqual({ name: "NoSuchUpload", status: 404 });
    expect(await rejection(uploadPart("multipart/other.mp4", uploadId, 1, bytes(10, 7)))).toEqual({
      name: "NoSuchUpload",
      status: 404,
    });
  });

  it("ListMultipartUploads lists uploads in progress under a prefix, not completed or aborted ones", async () => {
    const open = await begin("listing/open.mp4");
    const aborted = await begin("listing/aborted.mp4");
    await client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: "listing/aborted.mp4", UploadId: aborted }));
    await begin("elsewhere/open.mp4");

    const listed = await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: "listing/" }));

    expect(listed.Uploads?.map((upload) => ({ key: upload.Key, uploadId: upload.UploadId }))).toEqual([{ key: "listing/open.mp4", uploadId: open }]);
    expect(listed.Uploads?.[0]?.Initiated).toBeInstanceOf(Date);
  });

  describe("Complete checks the parts as R2 does", () => {
    async function complete(key: string, uploadId: string, parts: { ETag: string; PartNumber: number }[]) {
      return client.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
    }

    it("refuses a part that was never uploaded (InvalidPart)", async () => {
      const key = "multipart/missing-part.mp4";
      const uploadId = await begin(key);
      const etag1 = await uploadPart(key, uploadId, 1, bytes(5 * MIB, 8));

      const result = await rejection(
        complete(key, uploadId, [
          { ETag: etag1, PartNumber: 1 },
          { ETag: etag1, PartNumber: 2 },
        ]),
      );

      expect(result).toEqual({ name: "InvalidPart", status: 400 });
    });

    it("refuses a part whose ETag differs (InvalidPart)", async () => {
      const key = "multipart/wrong-etag.mp4";
      const uploadId = await begin(key);
      await uploadPart(key, uploadId, 1, bytes(10, 9));

      expect(await rejection(complete(key, uploadId, [{ ETag: '"0123"', PartNumber: 1 }]))).toEqual({
        name: "InvalidPart",
        status: 400,
      });
    });

    it("refuses parts out of order (InvalidPartOrder)", async () => {
      const key = "multipart/out-of-order.mp4";
      const uploadId = await begin(key);
      const etag1 = await uploadPart(key, uploadId, 1, bytes(5 * MIB, 10));
      const etag2 = await uploadPart(key, uploadId, 2, bytes(10, 11));

      expect(
        await rejection(
          complete(key, uploadId, [
            { ETag: etag2, PartNumber: 2 },
            { ETag: etag1, PartNumber: 1 },
          ]),
        ),
      ).toEqual({ name: "InvalidPartOrder", status: 400 });
    });

    it("refuses a non-trailing part under 5 MiB (EntityTooSmall)", async () => {
      const key = "multipart/too-small.mp4";
      const uploadId = await begin(key);
      const etag1 = await uploadPart(key, uploadId, 1, bytes(MIB, 12));
      const etag2 = await uploadPart(key, uploadId, 2, bytes(10, 13));

      expect(
        await rejection(
          complete(key, uploadId, [
            { ETag: etag1, PartNumber: 1 },
            { ETag: etag2, PartNumber: 2 },
          ]),
        ),
      ).toEqual({ name: "EntityTooSmall", status: 400 });
    });

    it("refuses non-trailing parts of different sizes (R2's rule, InvalidPart)", async () => {
      const key = "multipart/uneven.mp4";
      const uploadId = await begin(key);
      const etags = [
        await uploadPart(key, uploadId, 1, bytes(5 * MIB, 14)),
        await uploadPart(key, uploadId, 2, bytes(6 * MIB, 15)),
        await uploadPart(key, uploadId, 3, bytes(10, 16)),
      ];

      expect(
        await rejection(
          complete(
            key,
            uploadId,
            etags.map((ETag, index) => ({ ETag, PartNumber: index + 1 })),
          ),
        ),
      ).toEqual({ name: "InvalidPart", status: 400 });
    });

    it("of two concurrent completes one wins and the other gets NoSuchUpload; one object results", async () => {
      const key = "multipart/concurrent.mp4";
      const uploadId = await begin(key);
      const body = bytes(3000, 17);
      const etag = await uploadPart(key, uploadId, 1, body);

      const results = await Promise.allSettled([
        complete(key, uploadId, [{ ETag: etag, PartNumber: 1 }]),
        complete(key, uploadId, [{ ETag: etag, PartNumber: 1 }]),
      ]);

      expect(results.map((result) => result.status).sort()).toEqual(["fulfilled", "rejected"]);
      const failed = results.find((result) => result.status === "rejected") as PromiseRejectedResult;
      expect((failed.reason as S3ServiceException).name).toBe("NoSuchUpload");
      const object = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      expect(Buffer.from(await object.Body!.transformToByteArray())).toEqual(body);
    });
  });

  describe("presigned UploadPart pinning content-length", () => {
    it("accepts exactly the signed number of bytes, and the part is listed", async () => {
      const key = "multipart/presigned.mp4";
      const uploadId = await begin(key);
      const body = bytes(2048, 18);
      const url = await presignPart(key, uploadId, 1, body.length);

      const response = await fetch(url, { method: "PUT", body: new Uint8Array(body) });

      expect(response.status).toBe(200);
      expect(response.headers.get("etag")).toMatch(/^"[0-9a-f]{32}"$/);
      expect(await listParts(key, uploadId)).toEqual([{ partNumber: 1, size: 2048, etag: response.headers.get("etag") }]);
    });

    it.each([
      { name: "longer", size: 2049 },
      { name: "shorter", size: 2047 },
    ])("refuses a $name part than the signed content-length (403) and stores no part", async ({ size }) => {
      const key = `multipart/presigned-${size}.mp4`;
      const uploadId = await begin(key);
      const url = await presignPart(key, uploadId, 1, 2048);

      const response = await fetch(url, { method: "PUT", body: new Uint8Array(bytes(size, 19)) });

      expect(response.status).toBe(403);
      expect(await response.text()).toContain("<Code>SignatureDoesNotMatch</Code>");
      expect(await listParts(key, uploadId)).toEqual([]);
    });

    it("stores no part when the body is cut short on the wire", async () => {
      const key = "multipart/cut-short.mp4";
      const uploadId = await begin(key);
      const url = new URL(await presignPart(key, uploadId, 1, 2048));
      const socket = net.connect(Number(url.port), url.hostname);
      await once(socket, "connect");
      socket.write(`PUT ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Length: 2048\r\n\r\n`);
      socket.write(bytes(1000, 20));
      await sleep(100);
      socket.destroy();
      await sleep(50);

      expect(await listParts(key, uploadId)).toEqual([]);
    });
  });
});
