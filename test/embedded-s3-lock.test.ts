/**
 * R2's bucket lock, emulated by the embedded S3 server (`retentionLocks`): what consume and release
 * meet on R2 under the compliance bucket's `records/`. Real SDK calls, no mocks.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { createS3Client } from "@fitkit/core/adapters/s3/s3-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedS3, startEmbeddedS3 } from "../local/embedded-s3.js";
import { uniqueId } from "./support/fixtures.js";

const LOCKED = "compliance-locked";
const OPEN = "media-open";
let s3: EmbeddedS3;
let client: S3Client;

beforeAll(async () => {
  s3 = await startEmbeddedS3({
    directory: await mkdtemp(join(tmpdir(), "fitkit-s3-lock-")),
    buckets: [LOCKED, OPEN],
    retentionLocks: [{ bucket: LOCKED, prefix: "records/" }],
  });
  client = createS3Client({ endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey });
});
afterAll(() => s3?.close());

const put = (bucket: string, key: string, body: string) =>
  client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: "application/pdf" }));
const read = async (bucket: string, key: string) => (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();
/** The S3 error code and HTTP status a call failed with, or "ok". */
const outcome = (call: Promise<unknown>) =>
  call.then(
    () => "ok",
    (e: { name: string; $metadata?: { httpStatusCode?: number } }) => `${e.$metadata?.httpStatusCode} ${e.name}`,
  );

describe("a locked key (records/ in the locked bucket)", () => {
  it("takes its first write, then refuses a PUT over it and keeps the first bytes", async () => {
    const key = `records/${uniqueId("org")}/a.pdf`;

    expect(await outcome(put(LOCKED, key, "first"))).toBe("ok");
    expect(await outcome(put(LOCKED, key, "second"))).toBe("403 AccessDenied");
    expect(await read(LOCKED, key)).toBe("first");
  });

  it("refuses a copy onto it, but a copy to a new locked key lands", async () => {
    const key = `records/${uniqueId("org")}/a.pdf`;
    const fresh = `records/${uniqueId("org")}/b.pdf`;
    await put(LOCKED, key, "retained");
    await put(LOCKED, "incoming/x.pdf", "incoming");

    const copy = (to: string) => client.send(new CopyObjectCommand({ Bucket: LOCKED, Key: to, CopySource: `${LOCKED}/incoming/x.pdf` }));

    expect(await outcome(copy(key))).toBe("403 AccessDenied");
    expect(await read(LOCKED, key)).toBe("retained");
    expect(await outcome(copy(fresh))).toBe("ok");
    expect(await read(LOCKED, fresh)).toBe("incoming");
  });

  it("refuses a multipart upload completed over it", async () => {
    const key = `records/${uniqueId("org")}/a.pdf`;
    await put(LOCKED, key, "retained");
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: LOCKED, Key: key }));
    const { ETag } = await client.send(new UploadPartCommand({ Bucket: LOCKED, Key: key, UploadId, PartNumber: 1, Body: "replacement" }));

    const complete = client.send(
      new CompleteMultipartUploadCommand({ Bucket: LOCKED, Key: key, UploadId, MultipartUpload: { Parts: [{ ETag, PartNumber: 1 }] } }),
    );

    expect(await outcome(complete)).toBe("403 AccessDenied");
    expect(await read(LOCKED, key)).toBe("retained");
  });

  it("refuses a delete, alone or in a DeleteObjects batch, and keeps the object", async () => {
    const key = `records/${uniqueId("org")}/a.pdf`;
    await put(LOCKED, key, "retained");

    expect(await outcome(client.send(new DeleteObjectCommand({ Bucket: LOCKED, Key: key })))).toBe("403 AccessDenied");
    expect(await outcome(client.send(new DeleteObjectsCommand({ Bucket: LOCKED, Delete: { Objects: [{ Key: key }] } })))).toBe("403 AccessDenied");
    expect(await read(LOCKED, key)).toBe("retained");
  });
});

describe("keys outside the lock", () => {
  it("are overwritten and deleted freely: another prefix of the locked bucket, and the same key in another bucket", async () => {
    const incoming = `incoming/${uniqueId("org")}/a.pdf`;
    const elsewhere = `records/${uniqueId("org")}/a.pdf`;
    for (const [bucket, key] of [
      [LOCKED, incoming],
      [OPEN, elsewhere],
    ] as const) {
      await put(bucket, key, "first");
      expect(await outcome(put(bucket, key, "second"))).toBe("ok");
      expect(await read(bucket, key)).toBe("second");
      expect(await outcome(client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })))).toBe("ok");
      expect(await outcome(read(bucket, key))).toBe("404 NoSuchKey");
    }
  });
});
