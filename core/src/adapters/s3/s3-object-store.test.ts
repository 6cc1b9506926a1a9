/**
 * Storage failures a real server cannot produce (500s, throttling, timeouts), through
 * aws-sdk-client-mock: the adapter answers DependencyUnavailableError("storage"), and consume
 * then changes nothing — the upload stays staged and links once storage is back.
 */
import { Readable } from "node:stream";
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { DependencyUnavailableError } from "../../errors.js";
import { consume } from "../../staging/consume.js";
import { MemoryStore } from "../memory/memory-store.js";
import { S3ObjectStore } from "./s3-object-store.js";

const client = new S3Client({ region: "auto", endpoint: "http://storage.invalid", credentials: { accessKeyId: "a", secretAccessKey: "b" } });
const s3 = mockClient(client);
const objects = new S3ObjectStore(client);

const serviceError = (name: string, status: number) =>
  new S3ServiceException({ name, $fault: status >= 500 ? "server" : "client", $metadata: { httpStatusCode: status } });
/** A GetObject body as the SDK hands it out: a stream with the SDK's transform helpers. */
const sdkBody = (chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>) => {
  const stream = Readable.from(chunks);
  return Object.assign(stream, {
    transformToByteArray: async () => {
      const parts: Uint8Array[] = [];
      for await (const chunk of stream) parts.push(chunk as Uint8Array);
      return new Uint8Array(Buffer.concat(parts));
    },
  }) as never;
};
const timeout = Object.assign(new Error("socket timed out"), { name: "TimeoutError" });

beforeEach(() => s3.reset());

describe("S3ObjectStore failure mapping", () => {
  it.each([
    ["a 500", serviceError("InternalError", 500)],
    ["throttling (503 SlowDown)", serviceError("SlowDown", 503)],
    ["a timeout", timeout],
    ["bad credentials (403)", serviceError("AccessDenied", 403)],
  ])("HEAD answering %s is DependencyUnavailableError(storage)", async (_name, error) => {
    s3.on(HeadObjectCommand).rejects(error);
    const failure = await objects.head("media", "k").catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(DependencyUnavailableError);
    expect((failure as DependencyUnavailableError).dependency).toBe("storage");
  });

  it("HEAD of a missing object is null, not an error", async () => {
    s3.on(HeadObjectCommand).rejects(serviceError("NotFound", 404));
    expect(await objects.head("media", "k")).toBeNull();
  });

  it("DeleteObjects counts as deleted only what storage confirmed", async () => {
    s3.on(DeleteObjectsCommand).resolves({ Deleted: [{ Key: "a" }], Errors: [{ Key: "b", Code: "InternalError" }] });
    expect(await objects.deleteObjects("media", ["a", "b", "c"])).toEqual({
      deleted: ["a"],
      failed: [
        { key: "b", code: "InternalError" },
        { key: "c", code: "Unconfirmed" },
      ],
    });
  });
});

describe("S3ObjectStore conditional writes and copies", () => {
  const conditionalPut = { bucket: "media", key: "k", body: new Uint8Array([1]), contentType: "image/png", checksumSha256: "", ifNoneMatch: true };

  it("a conditional PUT that lost to a concurrent one (409 ConditionalRequestConflict) is precondition_failed", async () => {
    s3.on(PutObjectCommand).rejects(serviceError("ConditionalRequestConflict", 409));
    expect(await objects.put(conditionalPut)).toEqual({ ok: false, reason: "precondition_failed" });
  });

  it("a conditional PUT answered with a 500 is DependencyUnavailableError(storage), not a refusal", async () => {
    s3.on(PutObjectCommand).rejects(serviceError("InternalError", 500));
    await expect(objects.put(conditionalPut)).rejects.toBeInstanceOf(DependencyUnavailableError);
  });

  it("a copy into a missing bucket is DependencyUnavailableError(storage), not a missing source", async () => {
    s3.on(CopyObjectCommand).rejects(serviceError("NoSuchBucket", 404));
    await expect(objects.copy("media", "a", "b")).rejects.toBeInstanceOf(DependencyUnavailableError);
  });

  it("a failing DeleteObjects batch fails the call, after the batches before it were sent", async () => {
    s3.on(DeleteObjectsCommand)
      .resolvesOnce({ Deleted: Array.from({ length: 1000 }, (_, i) => ({ Key: `k${i}` })) })
      .rejectsOnce(serviceError("SlowDown", 503));
    const keys = Array.from({ length: 1500 }, (_, i) => `k${i}`);

    await expect(objects.deleteObjects("media", keys)).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(s3.commandCalls(DeleteObjectsCommand).map((call) => call.args[0].input.Delete?.Objects?.length)).toEqual([1000, 500]);
  });
});

describe("S3ObjectStore reads", () => {
  it("a storage failure mid-stream is DependencyUnavailableError(storage)", async () => {
    async function* failing() {
      yield new Uint8Array([1, 2]);
      throw new Error("ECONNRESET");
    }
    s3.on(GetObjectCommand).resolves({ Body: sdkBody(failing()) });
    const stream = await objects.stream("media", "k", 100);
    const drain = async () => {
      for await (const _ of stream!) void _;
    };
    await expect(drain()).rejects.toBeInstanceOf(DependencyUnavailableError);
  });
});

describe("consume while storage fails", () => {
  it("answers 503 and consumes nothing; the same call links once storage answers", async () => {
    const store = new MemoryStore();
    const png = Buffer.from("89504e470d0a1a0a0000000d49484452000000010000000108020000009077530a", "hex");
    const upload = {
      uploadId: "u1",
      ownerType: "message" as const,
      orgId: "org_1",
      userId: "user_1",
      bucket: "media",
      key: "org_1/message/user_1/u1.png",
      contentType: "image/png",
      size: png.length,
    };
    await store.stage({ uploads: [upload], lifetimeSeconds: 600, quota: { orgId: "org_1", defaultQuotaBytes: 1000 } });
    const request = { uploadIds: ["u1"], ownerType: "message" as const, owner: { orgId: "org_1", userId: "user_1" }, idempotencyKey: "k" };
    s3.on(HeadObjectCommand).rejects(serviceError("SlowDown", 503));

    await expect(consume({ store, objects }, request)).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(store.uploads.get("u1")?.status).toBe("staged");
    expect(await store.usage("org_1", 1000)).toEqual({ used: 0, reserved: png.length, quota: 1000 });

    s3.on(HeadObjectCommand).resolves({ ContentLength: png.length, ContentType: "image/png", ETag: '"e"' });
    s3.on(GetObjectCommand).callsFake(() => ({ Body: sdkBody([png]) }));
    const linked = await consume({ store, objects }, request);
    expect(linked.uploads).toEqual([{ uploadId: "u1", bucket: "media", key: upload.key, contentType: "image/png", size: png.length, etag: '"e"' }]);
    expect(await store.usage("org_1", 1000)).toEqual({ used: png.length, reserved: 0, quota: 1000 });
  });
});
