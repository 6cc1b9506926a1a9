/**
 * The S3/R2 adapters against the real SigV4-checking S3 server: presigned PUTs made by our signer
 * pin length, type and if-none-match; the object store's HEAD and DeleteObjects behave as the
 * port says.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createS3Client } from "@fitkit/core/adapters/s3/s3-client";
import { S3ObjectStore } from "@fitkit/core/adapters/s3/s3-object-store";
import { SdkUrlSigner } from "@fitkit/core/adapters/s3/sdk-url-signer";
import type { UrlSigner } from "@fitkit/core/storage/url-signer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedS3, startEmbeddedS3 } from "../local/embedded-s3.js";
import { pngImage } from "../support/media.js";
import { uniqueId } from "./support/fixtures.js";

let s3: EmbeddedS3;
let signer: UrlSigner;
let objects: S3ObjectStore;
/** Names of the S3 commands the object store's client sent, in order. */
const sent: string[] = [];
const BUCKET = "media-adapter";

beforeAll(async () => {
  s3 = await startEmbeddedS3({ directory: await mkdtemp(join(tmpdir(), "fitkit-s3-")), buckets: [BUCKET] });
  const settings = { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
  signer = new SdkUrlSigner(settings);
  const client = createS3Client(settings);
  client.middlewareStack.add(
    (next, context) => (args) => {
      sent.push(context.commandName ?? "unknown");
      return next(args);
    },
    { step: "initialize" },
  );
  objects = new S3ObjectStore(client);
});
afterAll(() => s3?.close());

const bytes = pngImage(4, 4);
const presignPng = (key: string, overrides: { expiresInSeconds?: number; signingDate?: Date } = {}) =>
  signer.presignPut({ bucket: BUCKET, key, contentType: "image/png", contentLength: bytes.length, ifNoneMatch: true, expiresInSeconds: 600, ...overrides });
const put = (url: string, headers: Record<string, string>, body: Uint8Array) => fetch(url, { method: "PUT", headers, body: body as BodyInit });

describe("presigned PUT on the real server", () => {
  it("accepts exactly the declared bytes with the returned headers, and HEAD reports them", async () => {
    const key = `${uniqueId("org")}/message/u/${uniqueId("id")}.png`;
    const { url, headers } = await presignPng(key);

    expect((await put(url, headers, bytes)).status).toBe(200);
    // fetch adds `cache-control: no-cache` to a request carrying if-none-match, and storage keeps it.
    expect(await objects.head(BUCKET, key)).toEqual({
      size: bytes.length,
      contentType: "image/png",
      etag: expect.stringMatching(/^".+"$/),
      servedHeaders: { cacheControl: "no-cache" },
    });
  });

  it.each([
    [
      "a longer body",
      (h: Record<string, string>) => ({ headers: { ...h, "content-length": String(bytes.length + 3) }, body: Buffer.concat([bytes, Buffer.from("abc")]) }),
    ],
    ["a shorter body", (h: Record<string, string>) => ({ headers: { ...h, "content-length": String(bytes.length - 1) }, body: bytes.subarray(1) })],
    ["another content type", (h: Record<string, string>) => ({ headers: { ...h, "content-type": "text/html" }, body: bytes })],
    [
      "no if-none-match",
      (h: Record<string, string>) => ({ headers: Object.fromEntries(Object.entries(h).filter(([n]) => n !== "if-none-match")), body: bytes }),
    ],
  ])("refuses %s and stores nothing", async (_name, change) => {
    const key = `o/message/u/${uniqueId("id")}.png`;
    const { url, headers } = await presignPng(key);
    const attempt = change(headers);

    const res = await put(url, attempt.headers, attempt.body);

    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(await objects.head(BUCKET, key)).toBeNull();
  });

  it("refuses a tampered URL (another key under the same signature) and an expired one", async () => {
    const key = `o/message/u/${uniqueId("id")}.png`;
    const { url, headers } = await presignPng(key);
    const tampered = url.replace(key, `o/message/u/${uniqueId("id")}.png`);
    const old = await presignPng(key, { expiresInSeconds: 60, signingDate: new Date(Date.now() - 3600_000) });

    expect((await put(tampered, headers, bytes)).status).toBe(403);
    expect((await put(old.url, old.headers, bytes)).status).toBe(403);
    expect(await objects.head(BUCKET, key)).toBeNull();
  });

  it("refuses a second PUT to the same key, keeping the first bytes", async () => {
    const key = `o/message/u/${uniqueId("id")}.png`;
    const { url, headers } = await presignPng(key);
    await put(url, headers, bytes);
    const other = pngImage(4, 4, [1, 2, 3]);

    expect((await put(url, headers, other)).status).toBe(412);
    const read = await fetch(await signer.presignGet({ bucket: BUCKET, key, expiresInSeconds: 60 }));
    expect(Buffer.from(await read.arrayBuffer())).toEqual(bytes);
  });
});

describe("S3ObjectStore on the real server", () => {
  it("deletes in one request, counting missing keys as deleted", async () => {
    const key = `o/message/u/${uniqueId("id")}.png`;
    const { url, headers } = await presignPng(key);
    await put(url, headers, bytes);

    const outcome = await objects.deleteObjects(BUCKET, [key, "o/message/u/never-uploaded.png"]);

    expect(outcome).toEqual({ deleted: [key, "o/message/u/never-uploaded.png"], failed: [] });
    expect(await objects.head(BUCKET, key)).toBeNull();
  });

  it("deletes 2500 keys with three DeleteObjects requests, none over S3's limit of 1000", async () => {
    const keys = Array.from({ length: 2500 }, (_, i) => `o/message/u/${uniqueId("bulk")}-${i}.png`);
    sent.length = 0;

    const outcome = await objects.deleteObjects(BUCKET, keys);

    expect(outcome).toEqual({ deleted: keys, failed: [] });
    expect(sent).toEqual(["DeleteObjectsCommand", "DeleteObjectsCommand", "DeleteObjectsCommand"]);
  });
});
