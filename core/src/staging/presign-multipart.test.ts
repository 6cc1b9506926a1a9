/** Presign of large videos: the multipart answer, and no storage upload begun when staging refuses or replays. */
import { describe, expect, it } from "vitest";
import { MemoryObjectStore } from "../adapters/memory/memory-object-store.js";
import { MemoryStore } from "../adapters/memory/memory-store.js";
import { FastUrlSigner } from "../adapters/s3/fast-url-signer.js";
import type { Identity } from "../auth/identity.js";
import { InvalidRequestError, QuotaExceededError } from "../errors.js";
import { presign } from "./presign.js";

const MiB = 1024 * 1024;
const member: Identity = { userId: "user_1", orgId: "org_1", role: "member" };

function deps(orgQuotaBytes = 1024 * MiB) {
  const store = new MemoryStore();
  const objects = new MemoryObjectStore();
  return {
    store,
    objects,
    signer: new FastUrlSigner({ endpoint: "https://acct.r2.cloudflarestorage.com", region: "auto", accessKeyId: "AKID", secretAccessKey: "secret" }),
    settings: { presignTtlSeconds: 60, stagingGraceSeconds: 60, orgQuotaBytes, userInFlightBytes: orgQuotaBytes, presignRatePerMinute: 1000 },
    mediaBucket: "media",
  };
}

describe("presign of multipart uploads", () => {
  it("answers a video over the threshold with its part plan, no URL, and keeps storage's upload id on the record only", async () => {
    const d = deps();

    const { uploads } = await presign(d, member, { ownerType: "exercise_comment", files: [{ contentType: "video/mp4", size: 70 * MiB }] });

    expect(uploads).toEqual([{ uploadId: expect.any(String), key: expect.stringMatching(/\.mp4$/), mode: "multipart", partSize: 8 * MiB, partCount: 9 }]);
    const [record] = (await d.store.loadForConsume([uploads[0]!.uploadId], "r")).uploads;
    expect(record?.multipart).toEqual({ storageUploadId: expect.any(String), partSize: 8 * MiB, partCount: 9 });
    expect([...d.objects.multipartUploads.keys()]).toEqual([record!.multipart!.storageUploadId]);
    expect(await d.store.usage("org_1", 1024 * MiB)).toMatchObject({ reserved: 70 * MiB });
  });

  it("refuses multipart on request for anything but a video", async () => {
    await expect(
      presign(deps(), member, { ownerType: "exercise_comment", files: [{ contentType: "image/png", size: 10, multipart: true }] }),
    ).rejects.toBeInstanceOf(InvalidRequestError);
  });

  it("begins no storage upload when the quota refuses the presign", async () => {
    const d = deps(10 * MiB);

    await expect(
      presign(d, member, { ownerType: "exercise_comment", files: [{ contentType: "video/mp4", size: 20 * MiB, multipart: true }] }),
    ).rejects.toBeInstanceOf(QuotaExceededError);

    expect(d.objects.multipartUploads.size).toBe(0);
  });

  it("a replay answers the first upload (its part plan too) and begins no storage upload for the retry", async () => {
    const d = deps();
    const request = { ownerType: "exercise_comment" as const, files: [{ contentType: "video/mp4", size: 6 * MiB, multipart: true }], idempotencyKey: "k1" };

    const first = await presign(d, member, request);
    const again = await presign(d, member, request);

    expect(again).toEqual(first);
    expect(d.objects.multipartUploads.size).toBe(1);
  });

  it("storage refusing one of two creates: the other is aborted, the uploads discarded and their reservation given back", async () => {
    const d = deps();
    const createMultipart = d.objects.createMultipart.bind(d.objects);
    let creates = 0;
    d.objects.createMultipart = async (...args) => {
      creates += 1;
      if (creates === 2) throw new Error("storage refused");
      return createMultipart(...args);
    };
    const files = [6, 7].map((n) => ({ contentType: "video/mp4", size: n * MiB, multipart: true }));

    await expect(presign(d, member, { ownerType: "exercise_comment", files })).rejects.toThrow("storage refused");

    expect(creates).toBe(2);
    expect(d.objects.multipartUploads.size).toBe(0);
    expect(d.store.uploads.size).toBe(0);
    expect(await d.store.usage("org_1", 1024 * MiB)).toMatchObject({ reserved: 0 });
  });
});
