/**
 * A coach's phone video through the local stack (`npm start`) in real Chromium: uploaded as an
 * exercise comment (HEVC `.mov` with location, made by Debian's ffmpeg and exiftool), processed
 * by process-media, served by `POST /uploads/signed-urls` as its playback rendition, metadata-free
 * original and poster, and played — directly and on the demo page.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VARIANTS_PREFIX } from "@fitkit/core/policies/object-keys";
import type { Browser } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "../../support/local-stack.js";
import { exifTags, oversizedVideo, probeJson, testVideo, topLevelBoxes } from "../../support/video.js";
import { closeChromium, launchChromium } from "../support/browser.js";
import { sleep, uniqueId } from "../support/fixtures.js";
import { putPresigned } from "../support/http.js";
import { documentedInternal, documentedPostJson as postJson } from "../support/openapi.js";

/** What a reader must never find in a copy: where, on what and when it was recorded. */
const PRIVATE_TAG = /gps|location|make|model|creationdate/i;

let phone: Buffer;

beforeAll(async () => {
  // What a coach's phone sends: HEVC in QuickTime, with sound, where and on what it was recorded.
  phone = await testVideo({ width: 1920, height: 1080, seconds: 2, format: "mov", codec: "hevc", audio: true, phoneMetadata: true, frameRate: 30 });
}, 120_000);

describe("through the local stack: a coach's phone video, played from its rendition", () => {
  let stack: LocalStack;
  let browser: Promise<Browser> | undefined;
  let directory: string;
  beforeAll(async () => {
    browser = launchChromium();
    stack = await startLocalStack();
    directory = await mkdtemp(join(tmpdir(), "fitkit-played-"));
  }, 90_000);
  afterAll(async () => {
    await closeChromium(browser);
    await stack?.close();
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  async function linkVideo(bytes: Buffer, contentType: string) {
    const userId = uniqueId("user");
    const orgId = uniqueId("org");
    const token = await stack.token({ userId, orgId, role: "coach" });
    const presigned = await postJson(`${stack.api}/uploads`, { ownerType: "exercise_comment", files: [{ contentType, size: bytes.length }] }, token);
    expect(presigned.status).toBe(201);
    const upload = presigned.body.uploads[0];
    expect((await putPresigned(upload, bytes)).status).toBe(200);
    const consumed = await documentedInternal(stack, "consume", {
      uploadIds: [upload.uploadId],
      ownerType: "exercise_comment",
      owner: { orgId, userId },
      idempotencyKey: "k",
    });
    expect(consumed.status).toBe(200);
    return { token, key: upload.key as string };
  }

  /** Asks for `variant` until processing has recorded an outcome (the demo polls the same way). */
  async function settled(token: string, key: string, variant: string) {
    for (let attempt = 0; attempt < 480; attempt++) {
      const signed = await postJson(`${stack.api}/uploads/signed-urls`, { keys: [key], variant, expiresIn: 900 }, token);
      expect(signed.status).toBe(200);
      if (signed.body.urls[0].status !== "processing") return signed.body.urls[0];
      await sleep(250);
    }
    throw new Error(`${variant} stayed processing`);
  }

  async function download(url: string, name: string): Promise<{ bytes: Buffer; file: string; type: string | null }> {
    const response = await fetch(url);
    expect(response.status).toBe(200);
    const bytes = Buffer.from(await response.arrayBuffer());
    const file = join(directory, name);
    await writeFile(file, bytes);
    return { bytes, file, type: response.headers.get("content-type") };
  }

  it("npm start said at start which video tools it runs: ffmpeg and ffprobe from PATH, bounded by prlimit", () => {
    expect(stack.stderr()).toMatch(/^videos: \S+\/ffmpeg and \S+\/ffprobe from PATH, memory, file size and CPU bounded by \S+\/prlimit$/m);
  });

  it("an HEVC .mov with location → playback H.264/AAC MP4, moov first, ≤ 1280 px, playing in Chromium; no location, make or model in any copy; the poster works", async () => {
    const { token, key } = await linkVideo(phone, "video/quicktime");

    const playback = await settled(token, key, "playback");
    expect(playback).toEqual({
      key,
      status: "ready",
      url: expect.stringContaining(`/${stack.buckets.media}/${VARIANTS_PREFIX}`),
      expiresAt: expect.any(String),
      width: 1920,
      height: 1080,
      durationMs: 2000,
      placeholder: expect.stringMatching(/^[A-Za-z0-9+/]+=*$/),
    });
    const played = await download(playback.url, "playback.mp4");
    expect(played.type).toBe("video/mp4");
    const probed = await probeJson(played.file);
    expect(probed.streams.map((s) => [s.codec_name, s.profile, s.width ?? null, s.height ?? null])).toEqual([
      ["h264", "High", 1280, 720],
      ["aac", "LC", null, null],
    ]);
    expect(topLevelBoxes(played.bytes).slice(0, 2)).toEqual(["ftyp", "moov"]);

    const original = await settled(token, key, "original");
    expect(original).toEqual({ ...playback, url: expect.stringContaining("/original.mov"), expiresAt: expect.any(String) });
    const kept = await download(original.url, "original.mov");
    expect(kept.type).toBe("video/quicktime");
    expect((await probeJson(kept.file)).streams.map((s) => s.codec_name)).toEqual(["hevc", "aac"]);
    expect(kept.bytes.equals(phone)).toBe(false);

    for (const file of [played.file, kept.file]) {
      const tags = await exifTags(file);
      expect(Object.entries(tags).filter(([tag]) => PRIVATE_TAG.test(tag) && !tag.startsWith("System:"))).toEqual([]);
      expect(Object.values(tags).join("\n")).not.toMatch(/iPhone|48 deg/);
    }

    const poster = await settled(token, key, "poster");
    const posterFile = await download(poster.url, "poster.jpg");
    expect(posterFile.type).toBe("image/jpeg");
    expect(await sharp(posterFile.bytes).metadata()).toMatchObject({ format: "jpeg", width: 1280, height: 720 });

    // Plays in a real browser: its clock advances.
    const page = await (await browser!).newPage();
    try {
      await page.setContent(`<video id="v" muted playsinline preload="auto" poster="${poster.url}" src="${playback.url}"></video>`);
      const advanced = await page.evaluate(async () => {
        const video = document.getElementById("v") as HTMLVideoElement;
        await video.play();
        const deadline = Date.now() + 20_000;
        while (video.currentTime < 0.5 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
        return { currentTime: video.currentTime, width: video.videoWidth, height: video.videoHeight, error: video.error?.code ?? null };
      });
      expect(advanced).toEqual({ currentTime: expect.any(Number), width: 1280, height: 720, error: null });
      expect(advanced.currentTime).toBeGreaterThanOrEqual(0.5);
    } finally {
      await page.close();
    }
  }, 240_000);

  it("the demo page plays a coach's linked video from its playback rendition, with its poster", async () => {
    const page = await (await browser!).newPage({ viewport: { width: 1100, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(String(error)));
    try {
      await page.goto(`${stack.api}/`);
      await page.fill("#user-id", uniqueId("user"));
      await page.fill("#org-id", uniqueId("org"));
      await page.selectOption("#role", "coach");
      await page.click("#sign-in");
      await page.waitForFunction(() => (window as any).fitkitDemo.identity !== null);
      await page.selectOption("#owner-type", "exercise_comment");
      await page.setInputFiles("#files", { name: "squat.mov", mimeType: "video/quicktime", buffer: phone });
      await page.click("#upload-button");
      await page.waitForFunction(() => ["uploaded", "error"].includes((window as any).fitkitDemo.phase));
      const [uploaded] = (await page.evaluate(() => (window as any).fitkitDemo.uploaded)) as { key: string; uploadId: string }[];
      await page.click("#link-button");

      const video = page.locator(`video[data-key="${uploaded!.key}"][data-variant="playback"]`);
      await video.waitFor({ timeout: 180_000 });
      const variantUrl = (name: string) => new RegExp(`/variants/[^?]+/${uploaded!.uploadId}/${name}\\?`);
      expect(await video.getAttribute("src")).toMatch(variantUrl("playback\\.mp4"));
      expect(await video.getAttribute("poster")).toMatch(variantUrl("poster\\.jpg"));
      const played = await video.evaluate(async (element: HTMLVideoElement) => {
        element.muted = true;
        await element.play();
        const deadline = Date.now() + 20_000;
        while (element.currentTime < 0.5 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
        return { advanced: element.currentTime >= 0.5, size: [element.videoWidth, element.videoHeight] };
      });
      expect(played).toEqual({ advanced: true, size: [1280, 720] });
      const tile = await page.evaluate((key) => (window as any).fitkitDemo.gallery[key], uploaded!.key);
      expect(tile.statuses).toEqual(["processing", "ready"]);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  }, 240_000);

  it("an 8000×6000 video is failed with VIDEO_TOO_LARGE for every variant, and nothing of it is signed", async () => {
    const { token, key } = await linkVideo(await oversizedVideo(), "video/mp4");

    expect(await settled(token, key, "playback")).toEqual({ key, status: "failed", code: "VIDEO_TOO_LARGE" });
    expect(await settled(token, key, "original")).toEqual({ key, status: "failed", code: "VIDEO_TOO_LARGE" });
    expect(await settled(token, key, "poster")).toEqual({ key, status: "failed", code: "VIDEO_TOO_LARGE" });
  }, 120_000);
});
