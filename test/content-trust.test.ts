/**
 * Content trust on real parts: the SigV4-checking S3 server, a real clamd with an EICAR
 * signature, and the core use-cases wired as the handlers wire them. The bytes must be what they
 * claim, cannot be swapped after linking, and are scanned.
 */
import { createHash } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClamdScanner } from "@fitkit/core/adapters/clamd/clamd-scanner";
import { MemoryStore } from "@fitkit/core/adapters/memory/memory-store";
import { FastUrlSigner } from "@fitkit/core/adapters/s3/fast-url-signer";
import { createS3Client } from "@fitkit/core/adapters/s3/s3-client";
import { S3ObjectStore } from "@fitkit/core/adapters/s3/s3-object-store";
import type { Identity } from "@fitkit/core/auth/identity";
import { STAGING_PREFIX } from "@fitkit/core/policies/object-keys";
import type { OwnerType } from "@fitkit/core/policies/owner-types";
import { consume } from "@fitkit/core/staging/consume";
import { type PresignedUpload, presign } from "@fitkit/core/staging/presign";
import { sweep } from "@fitkit/core/staging/sweeper";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedS3, startEmbeddedS3 } from "../local/embedded-s3.js";
import { type ClamdServer, EICAR, EICAR_SIGNATURE, startClamd } from "../support/clamd.js";
import { startLocalStack } from "../support/local-stack.js";
import {
  heicBytes,
  htmlBytes,
  jpegBytes,
  mp4Bytes,
  peExecutableBytes,
  pngImage,
  quicktimeBytes,
  svgBytes,
  webmBytes,
  webpBytes,
  zipBytes,
} from "../support/media.js";
import { uniqueId } from "./support/fixtures.js";
import { postJson, putPresigned, singlePut } from "./support/http.js";

/** Where a media upload's URL writes until consume: its announced (linked) key under staging/. */
const staged = (key: string) => `${STAGING_PREFIX}${key}`;

const MEDIA = "media-trust";
let s3: EmbeddedS3;
let clamd: ClamdServer;
let objects: S3ObjectStore;
let signer: FastUrlSigner;
const store = new MemoryStore();
const settings = { presignTtlSeconds: 600, stagingGraceSeconds: 600, orgQuotaBytes: 1e12, userInFlightBytes: 1e12, presignRatePerMinute: 10_000 };

beforeAll(async () => {
  [s3, clamd] = await Promise.all([
    mkdtemp(join(tmpdir(), "fitkit-s3-")).then((directory) => startEmbeddedS3({ directory, buckets: [MEDIA, "compliance-trust"] })),
    startClamd(),
  ]);
  const connection = { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
  objects = new S3ObjectStore(createS3Client(connection));
  signer = new FastUrlSigner(connection);
}, 60_000);
afterAll(async () => {
  await s3?.close();
  await clamd?.close();
});

const member = (): Identity => ({ userId: uniqueId("user"), orgId: uniqueId("org"), role: "member" });
const scanner = () => new ClamdScanner({ host: clamd.host, port: clamd.port, timeoutMs: 5000 });

async function upload(identity: Identity, ownerType: OwnerType, files: { contentType: string; bytes: Buffer; sha256?: boolean }[]) {
  const { uploads } = await presign({ store, signer, settings, mediaBucket: MEDIA }, identity, {
    ownerType,
    files: files.map((f) => ({
      contentType: f.contentType,
      size: f.bytes.length,
      ...(f.sha256 ? { sha256: createHash("sha256").update(f.bytes).digest("base64") } : {}),
    })),
  });
  for (const [i, presigned] of uploads.entries()) expect((await putPresigned(presigned, files[i]!.bytes)).status).toBe(200);
  return uploads;
}

const link = (identity: Identity, ownerType: OwnerType, uploads: PresignedUpload[], withScanner = false) =>
  consume(
    { store, objects, ...(withScanner ? { scanner: scanner(), scanMaxBytes: 100 * 1024 * 1024 } : {}) },
    { uploadIds: uploads.map((u) => u.uploadId), ownerType, owner: { orgId: identity.orgId!, userId: identity.userId }, idempotencyKey: uniqueId("k") },
  );

describe("sniffing at consume, through the real S3 server", () => {
  it("links real files of every media type under the owner type that allows them", async () => {
    const who = member();
    const files = [
      { contentType: "image/png", bytes: pngImage() },
      { contentType: "image/jpeg", bytes: jpegBytes() },
      { contentType: "image/webp", bytes: webpBytes() },
      { contentType: "image/heic", bytes: heicBytes() },
      { contentType: "video/mp4", bytes: mp4Bytes() },
      { contentType: "video/quicktime", bytes: quicktimeBytes() },
      { contentType: "video/webm", bytes: webmBytes() },
    ];
    const uploads = await upload(who, "exercise_comment", files);

    const linked = await link(who, "exercise_comment", uploads);

    expect(linked.uploads.map((u) => u.contentType)).toEqual(files.map((f) => f.contentType));
  });

  it.each([
    ["a ZIP archive", zipBytes()],
    ["a PE executable", peExecutableBytes()],
    ["HTML", htmlBytes()],
    ["SVG", svgBytes()],
  ])("refuses %s declared as image/png with 422 CONTENT_MISMATCH, deletes it, and keeps the rest of the batch staged", async (_name, spoof) => {
    const who = member();
    const [good, bad] = await upload(who, "message", [
      { contentType: "image/png", bytes: pngImage() },
      { contentType: "image/png", bytes: spoof },
    ]);

    const failure = await link(who, "message", [good!, bad!]).catch((e: unknown) => e);

    expect(failure).toMatchObject({ code: "CONTENT_MISMATCH", details: [{ uploadId: bad!.uploadId, code: "CONTENT_MISMATCH" }] });
    expect(await objects.head(MEDIA, staged(bad!.key))).toBeNull();
    expect(store.uploads.get(bad!.uploadId)).toBeUndefined();
    expect(store.uploads.get(good!.uploadId)?.status).toBe("staged");
    expect((await link(who, "message", [good!])).uploads).toHaveLength(1);
  });
});

describe("no swap after link", () => {
  it("a second PUT through the same URL after consume cannot reach the linked bytes: it lands on the staged key only", async () => {
    const who = member();
    const original = pngImage(2, 2, [10, 20, 30]);
    const [presigned] = await upload(who, "progress_photo", [{ contentType: "image/png", bytes: original }]);
    await link(who, "progress_photo", [presigned!]);

    // The URL names the staged key (emptied by the promotion): storage takes the bytes there, where
    // nothing links them and the URL watch deletes them (test/url-watch.test.ts).
    const swap = await putPresigned(presigned!, pngImage(2, 2, [250, 0, 0]));

    expect(swap.status).toBe(200);
    expect(await objects.head(MEDIA, staged(presigned!.key))).not.toBeNull();
    const read = await fetch(await signer.presignGet({ bucket: MEDIA, key: presigned!.key, expiresInSeconds: 60 }));
    expect(Buffer.from(await read.arrayBuffer())).toEqual(original);
  });

  it("signs the declared SHA-256 as a header the client must send, and consume returns it", async () => {
    const who = member();
    const bytes = pngImage(3, 3);
    const [presigned] = await upload(who, "progress_photo", [{ contentType: "image/png", bytes, sha256: true }]);
    const sha256 = createHash("sha256").update(bytes).digest("base64");

    expect(singlePut(presigned).headers["x-amz-checksum-sha256"]).toBe(sha256);
    expect(singlePut(presigned).url).toContain("x-amz-checksum-sha256");
    expect((await link(who, "progress_photo", [presigned!])).uploads[0]).toMatchObject({ sha256 });
  });
});

describe("virus scanning with a real clamd", () => {
  it("refuses a PNG carrying EICAR with 422 MALWARE_DETECTED and deletes it", async () => {
    const who = member();
    const infected = Buffer.concat([pngImage(), Buffer.from(EICAR, "latin1")]);
    const [presigned] = await upload(who, "progress_photo", [{ contentType: "image/png", bytes: infected }]);

    const failure = await link(who, "progress_photo", [presigned!], true).catch((e: unknown) => e);

    expect(failure).toMatchObject({ code: "MALWARE_DETECTED", status: 422, details: [{ uploadId: presigned!.uploadId, code: "MALWARE_DETECTED" }] });
    expect(await objects.head(MEDIA, staged(presigned!.key))).toBeNull();
    expect(EICAR_SIGNATURE).toMatch(/EICAR/);
  });

  it("EICAR PUT again through the refused upload's URL is counted nowhere and deleted when the URL's watch ends", async () => {
    let now = Date.now();
    const clockedStore = new MemoryStore({ now: () => now });
    const who = member();
    const infected = Buffer.concat([pngImage(), Buffer.from(EICAR, "latin1")]);
    const {
      uploads: [presigned],
    } = await presign({ store: clockedStore, signer, settings, mediaBucket: MEDIA }, who, {
      ownerType: "progress_photo",
      files: [{ contentType: "image/png", size: infected.length }],
    });
    expect((await putPresigned(presigned!, infected)).status).toBe(200);
    const refused = consume(
      { store: clockedStore, objects, scanner: scanner(), scanMaxBytes: 1024 * 1024 },
      { uploadIds: [presigned!.uploadId], ownerType: "progress_photo", owner: { orgId: who.orgId!, userId: who.userId }, idempotencyKey: uniqueId("k") },
    );
    await expect(refused).rejects.toMatchObject({ code: "MALWARE_DETECTED" });

    // The URL still works: the bytes land again, and no record, link or counter names them.
    expect((await putPresigned(presigned!, infected)).status).toBe(200);
    expect(await objects.head(MEDIA, staged(presigned!.key))).not.toBeNull();
    expect(await clockedStore.uploadRecords([presigned!.uploadId])).toEqual([null]);
    expect(await clockedStore.usage(who.orgId!, settings.orgQuotaBytes)).toEqual({ used: 0, reserved: 0, quota: settings.orgQuotaBytes });
    now += (settings.presignTtlSeconds + settings.stagingGraceSeconds) * 1000 + 1000;
    const report = await sweep({ store: clockedStore, objects, complianceBucket: "compliance-trust" });

    expect(report).toMatchObject({ watchedDeleted: 1, failed: 0 });
    expect(await objects.head(MEDIA, staged(presigned!.key))).toBeNull();
  });

  it("links a clean file when scanning is on", async () => {
    const who = member();
    const [presigned] = await upload(who, "progress_photo", [{ contentType: "image/png", bytes: pngImage(8, 8) }]);
    expect((await link(who, "progress_photo", [presigned!], true)).uploads).toHaveLength(1);
  });

  it("fails closed: clamd down → 503 DEPENDENCY_UNAVAILABLE and nothing consumed", async () => {
    const who = member();
    const [presigned] = await upload(who, "progress_photo", [{ contentType: "image/png", bytes: pngImage() }]);
    const down = await startClamd();
    const downScanner = new ClamdScanner({ host: down.host, port: down.port, timeoutMs: 2000 });
    await down.stop();

    const failure = await consume(
      { store, objects, scanner: downScanner, scanMaxBytes: 1024 * 1024 },
      { uploadIds: [presigned!.uploadId], ownerType: "progress_photo", owner: { orgId: who.orgId!, userId: who.userId }, idempotencyKey: "scan-down" },
    ).catch((e: unknown) => e);
    await down.close();

    expect(failure).toMatchObject({ code: "DEPENDENCY_UNAVAILABLE", status: 503 });
    expect(store.uploads.get(presigned!.uploadId)?.status).toBe("staged");
    expect(await objects.head(MEDIA, staged(presigned!.key))).not.toBeNull();
  });
});

describe("the local stack with CLAMD_HOST set", () => {
  it("scans at consume and at the public signature upload: EICAR is 422 MALWARE_DETECTED, clean files pass", async () => {
    const stack = await startLocalStack({ CLAMD_HOST: clamd.host, CLAMD_PORT: String(clamd.port) });
    try {
      const userId = uniqueId("user");
      const orgId = uniqueId("org");
      const token = await stack.token({ userId, orgId, role: "member" });
      const infected = Buffer.concat([pngImage(), Buffer.from(EICAR, "latin1")]);
      const clean = pngImage(6, 6);
      const presigned = await postJson(
        `${stack.api}/uploads`,
        {
          ownerType: "progress_photo",
          files: [
            { contentType: "image/png", size: infected.length },
            { contentType: "image/png", size: clean.length },
          ],
        },
        token,
      );
      const [bad, good] = presigned.body.uploads as PresignedUpload[];
      await putPresigned(bad!, infected);
      await putPresigned(good!, clean);
      const consume = (ids: string[], key: string) =>
        stack.internal("consume", { uploadIds: ids, ownerType: "progress_photo", owner: { orgId, userId }, idempotencyKey: key });

      const refused = await consume([bad!.uploadId, good!.uploadId], "k1");
      const linked = await consume([good!.uploadId], "k2");

      expect(refused).toMatchObject({
        status: 422,
        body: { error: { code: "MALWARE_DETECTED", details: [{ uploadId: bad!.uploadId, code: "MALWARE_DETECTED" }] } },
      });
      expect(linked.status).toBe(200);

      const link = (await stack.internal("issue-signature-token", { orgId, formId: "form_1", submissionId: "sub_1" })).body;
      const put = (bytes: Buffer) => fetch(`${stack.api}${link.path}`, { method: "PUT", headers: { "content-type": "image/png" }, body: bytes as BodyInit });
      const infectedSignature = await put(infected);
      expect(infectedSignature.status).toBe(422);
      expect((await infectedSignature.json()).error.code).toBe("MALWARE_DETECTED");
      expect((await put(clean)).status).toBe(201); // the refused attempt did not burn the link
    } finally {
      await stack.close();
    }
  }, 60_000);
});
