/**
 * HEIC becomes viewable: the display and thumb copies made from a real HEVC HEIC (heif-enc) render
 * in real Chromium, which cannot show the HEIC itself. A JPEG's full-size copy, kept losslessly
 * with only its Orientation tag, is shown upright.
 */
import { renderVariants } from "@fitkit/core/media/image-pipeline";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { phoneHeic, phoneJpeg } from "../support/media.js";
import { launchChromium } from "./support/browser.js";
import { imageCodecs } from "./support/image-codecs.js";

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
}, 30_000);
afterAll(() => browser?.close());

/** The natural size Chromium decodes `bytes` to (0×0 when it cannot). */
async function naturalSize(bytes: Buffer, contentType: string): Promise<[number, number]> {
  const page = await browser.newPage();
  try {
    await page.setContent(`<img id="i" src="data:${contentType};base64,${bytes.toString("base64")}">`);
    return await page.$eval("#i", async (img: HTMLImageElement) => {
      await img.decode().catch(() => undefined);
      return [img.naturalWidth, img.naturalHeight] as [number, number];
    });
  } finally {
    await page.close();
  }
}

describe("a HEIC photo in Chromium", () => {
  it("the HEIC itself does not render, its display and thumb copies do", async () => {
    const heic = phoneHeic(1200, 900);
    const rendered = await renderVariants(imageCodecs, heic, "image/heic");
    const variant = (name: string) => rendered.variants.find((v) => v.variant === name)!;

    expect(await naturalSize(heic, "image/heic")).toEqual([0, 0]);
    expect(await naturalSize(variant("display").bytes, variant("display").contentType)).toEqual([1200, 900]);
    expect(await naturalSize(variant("thumb").bytes, variant("thumb").contentType)).toEqual([320, 240]);
    expect(await naturalSize(variant("original").bytes, variant("original").contentType)).toEqual([1200, 900]);
  });

  it("a portrait JPEG stored sideways (EXIF orientation 6) keeps its pixels as uploaded and still shows upright", async () => {
    const jpeg = phoneJpeg(640, 480);
    const rendered = await renderVariants(imageCodecs, jpeg, "image/jpeg");
    const original = rendered.variants.find((v) => v.variant === "original")!;

    expect(rendered.original).toBe("lossless");
    expect(await naturalSize(original.bytes, "image/jpeg")).toEqual([480, 640]);
  });
});
