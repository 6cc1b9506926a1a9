/**
 * Storage failures a real server cannot produce (500s, throttling, timeouts), through
 * aws-sdk-client-mock: the adapter answers DependencyUnavailableError("storage"), and consume
 * then changes nothing — the upload stays staged and links once storage is back.
 */
import { DeleteObjectsCommand, HeadObjectCommand, S3Client, S3ServiceException } from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { DependencyUnavailableError } from "../../errors.js";
import { consume } from "../../staging/consume.js";
import { MemoryStagingStore } from "../memory/memory-staging-store.js";
import { S3ObjectStore } from "./s3-object-store.js";

const client = new S3Client({ region: "auto", endpoint: "http://storage.invalid", credentials: { accessKeyId: "a", secretAccessKey: "b" } });
const s3 = mockClient(client);
const objects = new S3ObjectStore(client);

const serviceError = (name: string, status: number) =>
  new S3ServiceException({ name, $fault: status >= 500 ? "server" : "client", $metadata: { httpStatusCode: status } });
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

describe("consume while storage fails", () => {
  it("answers 503 and consumes nothing; the same call links once storage answers", async () => {
    const store = new MemoryStagingStore();
    const upload = { uploadId: "u1", ownerType: "message" as const, orgId: "org_1", userId: "user_1", bucket: "media", key: "org_1/message/user_1/u1.png", contentType: "image/png", size: 5 };
    await store.stage({ uploads: [upload], lifetimeSeconds: 600, quota: { orgId: "org_1", defaultQuotaBytes: 1000 } });
    const request = { uploadIds: ["u1"], ownerType: "message" as const, owner: { orgId: "org_1", userId: "user_1" }, idempotencyKey: "k" };
    s3.on(HeadObjectCommand).rejects(serviceError("SlowDown", 503));

    await expect(consume({ store, objects }, request)).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(store.uploads.get("u1")?.status).toBe("staged");
    expect(await store.usage("org_1", 1000)).toEqual({ used: 0, reserved: 5, quota: 1000 });

    s3.on(HeadObjectCommand).resolves({ ContentLength: 5, ContentType: "image/png", ETag: '"e"' });
    const linked = await consume({ store, objects }, request);
    expect(linked.uploads).toEqual([{ uploadId: "u1", bucket: "media", key: upload.key, contentType: "image/png", size: 5, etag: '"e"' }]);
    expect(await store.usage("org_1", 1000)).toEqual({ used: 5, reserved: 0, quota: 1000 });
  });
});
