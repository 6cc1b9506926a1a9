/** Signed downloads: the authorisation matrix of the policy table, and stable URLs without a cache. */
import { describe, expect, it } from "vitest";
import { MemoryStore } from "../adapters/memory/memory-store.js";
import { FastUrlSigner } from "../adapters/s3/fast-url-signer.js";
import type { Identity } from "../auth/identity.js";
import type { PresignGetInput, UrlSigner } from "../storage/url-signer.js";
import { createUrlMemo, signedUrls } from "./signed-urls.js";

const buckets = { media: "media", compliance: "compliance", records: "records-b" };
const realSigner = new FastUrlSigner({ endpoint: "https://acct.r2.cloudflarestorage.com", region: "auto", accessKeyId: "AKID", secretAccessKey: "secret" });
class CountingSigner implements UrlSigner {
  gets: PresignGetInput[] = [];
  presignPut = realSigner.presignPut.bind(realSigner);
  presignUploadPart = realSigner.presignUploadPart.bind(realSigner);
  presignGet(input: PresignGetInput) {
    this.gets.push(input);
    return realSigner.presignGet(input);
  }
}

const member = (orgId: string, userId: string, role: Identity["role"]): Identity => ({ orgId, userId, role });
const photo = "org_1/progress_photo/user_a/0123456789abcdef0123456789abcdef.jpg";
const comment = "org_1/exercise_comment/user_a/0123456789abcdef0123456789abcdef.mp4";
const logo = "org_1/organization_logo/user_admin/0123456789abcdef0123456789abcdef.png";
const record = "records/org_1/0123456789abcdef0123456789abcdef.pdf";

/** The photo and the comment's video are linked and processed; the logo is linked and still processing; the record is linked. */
const variants = new MemoryStore();
const photoVariant = (name: string, contentType: string) => ({
  key: `variants/org_1/progress_photo/user_a/0123456789abcdef0123456789abcdef/${name}`,
  contentType,
  size: 10,
});
variants.linked.set(`media\u0000${photo}`, { orgId: "org_1", size: 100 });
variants.linked.set(`media\u0000${logo}`, { orgId: "org_1", size: 100 });
variants.linked.set(`media\u0000${comment}`, { orgId: "org_1", size: 100 });
variants.linked.set(`records-b\u0000${record}`, { orgId: "org_1", size: 100 });
await variants.recordMedia(
  { bucket: "media", key: photo, orgId: "org_1" },
  {
    status: "ready",
    width: 3,
    height: 4,
    placeholder: "AAAA",
    variants: {
      original: photoVariant("original.jpg", "image/jpeg"),
      display: photoVariant("display.webp", "image/webp"),
      thumb: photoVariant("thumb.webp", "image/webp"),
    },
  },
);

const commentVariant = (name: string, contentType: string) => ({
  key: `variants/org_1/exercise_comment/user_a/0123456789abcdef0123456789abcdef/${name}`,
  contentType,
  size: 10,
});
variants.linked.set(`media\u0000${comment}`, { orgId: "org_1", size: 100 });
await variants.recordMedia(
  { bucket: "media", key: comment, orgId: "org_1" },
  {
    status: "ready",
    width: 1920,
    height: 1080,
    durationMs: 3000,
    placeholder: "CCCC",
    variants: {
      original: commentVariant("original.mp4", "video/mp4"),
      playback: commentVariant("playback.mp4", "video/mp4"),
      poster: commentVariant("poster.jpg", "image/jpeg"),
    },
  },
);

async function canRead(identity: Identity, key: string): Promise<boolean> {
  return signedUrls({ signer: realSigner, buckets, variants }, identity, { keys: [key], expiresIn: 3600 }).then(
    () => true,
    (e: { code: string }) => (e.code === "FORBIDDEN" ? false : Promise.reject(e)),
  );
}

describe("who may read what (the owner-type table of docs/API.md)", () => {
  it.each([
    ["the uploader reads their progress photo", member("org_1", "user_a", "member"), photo, true],
    ["another member does not read it", member("org_1", "user_b", "member"), photo, false],
    ["a coach of the org reads it", member("org_1", "user_c", "coach"), photo, true],
    ["an admin of the org reads it", member("org_1", "user_d", "admin"), photo, true],
    ["an admin of another org does not", member("org_2", "user_d", "admin"), photo, false],
    ["any member reads an exercise comment", member("org_1", "user_b", "member"), comment, true],
    ["any member reads the logo", member("org_1", "user_b", "member"), logo, true],
    ["a member does not read a signed record", member("org_1", "user_b", "member"), record, false],
    ["a coach does not read a signed record", member("org_1", "user_c", "coach"), record, false],
    ["an admin reads a signed record", member("org_1", "user_d", "admin"), record, true],
    ["nobody reads an incoming signature", member("org_1", "user_d", "admin"), "incoming/org_1/0123456789abcdef0123456789abcdef.pdf", false],
    ["a session without an org reads nothing", { orgId: null, userId: "user_a", role: null }, photo, false],
    ["a key we did not make is refused", member("org_1", "user_a", "admin"), "org_1/progress_photo/user_a/../../secret.jpg", false],
  ])("%s", async (_name, identity, key, expected) => {
    expect(await canRead(identity as Identity, key)).toBe(expected);
  });
});

describe("stable URLs", () => {
  const admin = member("org_1", "user_d", "admin");
  const bucketMs = (3600 - 300) * 1000;
  const start = Math.ceil(1_800_000_000_000 / bucketMs) * bucketMs;

  it("are identical within a bucket, on any container, and live between 300 s and expiresIn", async () => {
    const at = (now: number) => signedUrls({ signer: realSigner, buckets, variants, clock: { now: () => now } }, admin, { keys: [photo], expiresIn: 3600 });
    const early = await at(start + 1000);
    const late = await at(start + bucketMs - 1);
    const next = await at(start + bucketMs);

    expect(late.urls).toEqual(early.urls);
    expect(next.urls[0]!.url).not.toBe(early.urls[0]!.url);
    const remaining = Date.parse(late.urls[0]!.expiresAt!) - (start + bucketMs - 1);
    expect(remaining).toBeGreaterThanOrEqual(300_000);
    expect(Date.parse(early.urls[0]!.expiresAt!) - (start + 1000)).toBeLessThanOrEqual(3600_000);
  });

  it("pin the stored type, and serve images and video inline, anything else as an attachment under a server-made name", async () => {
    const { urls } = await signedUrls({ signer: realSigner, buckets, variants }, admin, { keys: [photo, comment, record], expiresIn: 3600 });
    const [image, video, pdf] = urls.map((u) => new URL(u.url!).searchParams);
    expect(image!.get("response-content-type")).toBe("image/jpeg");
    expect(image!.get("response-content-disposition")).toBe('inline; filename="0123456789abcdef0123456789abcdef.jpg"');
    expect(video!.get("response-content-type")).toBe("video/mp4");
    expect(video!.get("response-content-disposition")).toBe('inline; filename="0123456789abcdef0123456789abcdef.mp4"');
    expect(pdf!.get("response-content-type")).toBe("application/pdf");
    expect(pdf!.get("response-content-disposition")).toBe('attachment; filename="0123456789abcdef0123456789abcdef.pdf"');
    expect(pdf!.get("X-Amz-Expires")).toBe("300");
    // Whatever encoding or language an uploader stored, a reader gets the bytes as stored.
    for (const params of [image!, video!, pdf!]) {
      expect([params.get("response-content-encoding"), params.get("response-content-language")]).toEqual(["identity", "und"]);
    }
  });

  it("pin a private cache lifetime no longer than the least time the URL has left when handed out", async () => {
    const at = (now: number, keys: string[], expiresIn: number) =>
      signedUrls({ signer: realSigner, buckets, variants, clock: { now: () => now } }, admin, { keys, expiresIn });
    const latest = start + bucketMs - 1000; // the last moment this shared URL is handed out
    const shared = (await at(latest, [photo], 3600)).urls[0]!;
    const fresh = (await at(start + 1000, [photo], 120)).urls[0]!;
    const retained = (await at(start + 1000, [record], 3600)).urls[0]!;

    const maxAge = (u: { url?: string }) => Number(/^private, max-age=(\d+)$/.exec(new URL(u.url!).searchParams.get("response-cache-control") ?? "")?.[1]);
    expect(maxAge(shared)).toBe(300);
    expect(maxAge(fresh)).toBe(119);
    expect(maxAge(retained)).toBe(299);
    for (const [url, handedOutAt] of [
      [shared, latest],
      [fresh, start + 1000],
      [retained, start + 1000],
    ] as const) {
      expect(maxAge(url) * 1000).toBeLessThanOrEqual(Date.parse(url.expiresAt!) - handedOutAt);
    }
  });

  it("are signed once per container and bucket (the memo), never memoised for records", async () => {
    const signer = new CountingSigner();
    const memo = createUrlMemo();
    const deps = { signer, buckets, variants, memo, clock: { now: () => start + 5 } };
    for (let i = 0; i < 3; i++) await signedUrls(deps, admin, { keys: [photo, comment, record], expiresIn: 3600 });
    expect(signer.gets.map((g) => g.key)).toEqual([photoVariant("original.jpg", "").key, commentVariant("original.mp4", "").key, record, record, record]);
  });

  it("short-lived URLs (expiresIn ≤ 300 s) are signed fresh for each request", async () => {
    const signer = new CountingSigner();
    const first = await signedUrls({ signer, buckets, variants, clock: { now: () => start + 1000 } }, admin, { keys: [photo], expiresIn: 120 });
    const second = await signedUrls({ signer, buckets, variants, clock: { now: () => start + 2000 } }, admin, { keys: [photo], expiresIn: 120 });
    expect(first.urls[0]!.url).not.toBe(second.urls[0]!.url);
  });
});

describe("images are served from their processed copies only", () => {
  const coach = member("org_1", "user_c", "coach");

  it("each variant of a processed photo is signed from its own copy, with the image's size and placeholder", async () => {
    const signer = new CountingSigner();
    for (const variant of ["original", "display", "thumb"] as const) {
      const { urls } = await signedUrls({ signer, buckets, variants }, coach, { keys: [photo], expiresIn: 3600, variant });
      expect(urls[0]).toMatchObject({ key: photo, status: "ready", width: 3, height: 4, placeholder: "AAAA" });
    }
    expect(signer.gets.map((g) => [g.key.split("/").at(-1), g.responseContentType])).toEqual([
      ["original.jpg", "image/jpeg"],
      ["display.webp", "image/webp"],
      ["thumb.webp", "image/webp"],
    ]);
    expect(signer.gets.some((g) => g.key === photo)).toBe(false);
  });

  it("a photo still processing, not linked, or failed has a status and no URL", async () => {
    const failed = "org_1/progress_photo/user_a/ffffffffffffffffffffffffffffffff.png";
    const unlinked = "org_1/progress_photo/user_a/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee.heic";
    variants.linked.set(`media\u0000${failed}`, { orgId: "org_1", size: 1 });
    await variants.recordMedia({ bucket: "media", key: failed, orgId: "org_1" }, { status: "failed", code: "IMAGE_TOO_LARGE" });
    const signer = new CountingSigner();

    const { urls } = await signedUrls({ signer, buckets, variants }, coach, { keys: [logo, failed, unlinked, comment], expiresIn: 3600, variant: "thumb" });

    expect(urls.map(({ url: _url, expiresAt: _expiresAt, ...rest }) => rest)).toEqual([
      { key: logo, status: "processing" },
      { key: failed, status: "failed", code: "IMAGE_TOO_LARGE" },
      { key: unlinked, status: "failed", code: "NOT_LINKED" },
      { key: comment, status: "ready", width: 1920, height: 1080, durationMs: 3000, placeholder: "CCCC" },
    ]);
    expect(signer.gets.map((g) => g.key)).toEqual([commentVariant("poster.jpg", "").key]);
  });
});

describe("videos are served from their processed copies only", () => {
  const coach = member("org_1", "user_c", "coach");
  const video = (id: string) => `org_1/exercise_comment/user_a/${id.repeat(32)}.mp4`;
  const processed = video("a");
  const streamed = video("b");
  const pending = video("c");
  const unreadable = video("d");
  const unlinked = video("e");
  const legacy = video("f");
  const copy = (id: string, name: string, contentType: string) => ({
    key: `variants/org_1/exercise_comment/user_a/${id.repeat(32)}/${name}`,
    contentType,
    size: 10,
  });
  const copies = (id: string) => ({
    original: copy(id, "original.mp4", "video/mp4"),
    playback: copy(id, "playback.mp4", "video/mp4"),
    poster: copy(id, "poster.jpg", "image/jpeg"),
  });
  for (const key of [processed, streamed, pending, unreadable, legacy]) variants.linked.set(`media\u0000${key}`, { orgId: "org_1", size: 1000 });
  const ready = { status: "ready", width: 1080, height: 1920, placeholder: "BBBB" } as const;

  it("each variant of a processed video is signed from its own copy (never the uploaded bytes), with the video's facts and its poster's placeholder", async () => {
    await variants.recordMedia({ bucket: "media", key: processed, orgId: "org_1" }, { ...ready, durationMs: 3000, variants: copies("a") });
    const signer = new CountingSigner();

    const answers = [];
    for (const variant of ["original", "playback", "poster", "display", "thumb"] as const) {
      const { urls } = await signedUrls({ signer, buckets, variants }, coach, { keys: [processed], expiresIn: 3600, variant });
      answers.push(urls[0]);
    }

    const facts = { key: processed, status: "ready", width: 1080, height: 1920, durationMs: 3000, placeholder: "BBBB" };
    expect(answers).toEqual([0, 1, 2, 3, 4].map(() => ({ ...facts, url: expect.any(String), expiresAt: expect.any(String) })));
    expect(signer.gets.map((g) => [g.key.split("/").at(-1), g.responseContentType, g.responseContentDisposition])).toEqual([
      ["original.mp4", "video/mp4", 'inline; filename="aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.mp4"'],
      ["playback.mp4", "video/mp4", 'inline; filename="aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.mp4"'],
      ["poster.jpg", "image/jpeg", 'inline; filename="aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.jpg"'],
      ["poster.jpg", "image/jpeg", 'inline; filename="aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.jpg"'],
      ["poster.jpg", "image/jpeg", 'inline; filename="aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.jpg"'],
    ]);
    expect(signer.gets.some((g) => g.key === processed)).toBe(false);
  });

  it("a video whose container states no duration has no durationMs", async () => {
    await variants.recordMedia({ bucket: "media", key: streamed, orgId: "org_1" }, { ...ready, durationMs: null, variants: copies("b") });
    const { urls } = await signedUrls({ signer: new CountingSigner(), buckets, variants }, coach, { keys: [streamed], expiresIn: 3600, variant: "playback" });
    expect(urls[0]).toEqual({
      key: streamed,
      status: "ready",
      url: expect.any(String),
      expiresAt: expect.any(String),
      width: 1080,
      height: 1920,
      placeholder: "BBBB",
    });
  });

  it("a video still processing, failed or never linked has a status and no URL, whichever variant is asked for", async () => {
    await variants.recordMedia({ bucket: "media", key: unreadable, orgId: "org_1" }, { status: "failed", code: "VIDEO_UNREADABLE" });
    const keys = [pending, unreadable, unlinked];
    const signer = new CountingSigner();

    for (const variant of ["original", "playback", "poster"] as const) {
      const { urls } = await signedUrls({ signer, buckets, variants }, coach, { keys, expiresIn: 3600, variant });
      expect(urls).toEqual([
        { key: pending, status: "processing" },
        { key: unreadable, status: "failed", code: "VIDEO_UNREADABLE" },
        { key: unlinked, status: "failed", code: "NOT_LINKED" },
      ]);
    }
    expect(signer.gets).toEqual([]);
  });

  it("a video recorded before it had a playback copy (a poster only) is processing again, never signed as uploaded", async () => {
    const posterOnly = { poster: copy("f", "poster.jpg", "image/jpeg") } as unknown as ReturnType<typeof copies>;
    await variants.recordMedia({ bucket: "media", key: legacy, orgId: "org_1" }, { ...ready, durationMs: 1000, variants: posterOnly });
    const signer = new CountingSigner();

    for (const variant of ["original", "playback", "poster"] as const) {
      const { urls } = await signedUrls({ signer, buckets, variants }, coach, { keys: [legacy], expiresIn: 3600, variant });
      expect(urls).toEqual([{ key: legacy, status: "processing" }]);
    }
    expect(signer.gets).toEqual([]);
  });

  it("an image's poster is its display copy, so a gallery can ask one variant for every key", async () => {
    const signer = new CountingSigner();
    const { urls } = await signedUrls({ signer, buckets, variants }, coach, { keys: [photo], expiresIn: 3600, variant: "poster" });
    expect(urls[0]).toMatchObject({ key: photo, status: "ready", width: 3, height: 4 });
    expect(signer.gets.map((g) => g.key.split("/").at(-1))).toEqual(["display.webp"]);
  });
});

describe("only linked objects are signed, of every type", () => {
  const admin = member("org_1", "user_d", "admin");

  it("an unlinked video, record or non-processed file is NOT_LINKED and nothing is signed; the link state costs one read for the whole request", async () => {
    const video = "org_1/exercise_comment/user_a/99999999999999999999999999999999.mov";
    const signedRecord = "records/org_1/99999999999999999999999999999999.pdf";
    const png = "org_1/organization_logo/user_admin/99999999999999999999999999999999.png";
    const reads: number[] = [];
    const counted = {
      mediaStates: (refs: Parameters<MemoryStore["mediaStates"]>[0]) => {
        reads.push(refs.length);
        return variants.mediaStates(refs);
      },
    };
    const signer = new CountingSigner();

    const { urls } = await signedUrls({ signer, buckets, variants: counted }, admin, { keys: [video, signedRecord, png, comment, record], expiresIn: 3600 });

    expect(urls.map(({ url: _url, expiresAt: _expiresAt, ...rest }) => rest)).toEqual([
      { key: video, status: "failed", code: "NOT_LINKED" },
      { key: signedRecord, status: "failed", code: "NOT_LINKED" },
      { key: png, status: "failed", code: "NOT_LINKED" },
      // A linked video is served from its processed copy (without metadata), never as uploaded.
      { key: comment, status: "ready", width: 1920, height: 1080, durationMs: 3000, placeholder: "CCCC" },
      { key: record, status: "ready" },
    ]);
    expect(signer.gets.map((g) => g.key)).toEqual([commentVariant("original.mp4", "video/mp4").key, record]);
    expect(reads).toEqual([5]);
  });
});
