/** Sniffing real bytes of every allowed type, and the spoofs hosted services let through. */
import { describe, expect, it } from "vitest";
import {
  heicBytes,
  htmlBytes,
  jpegBytes,
  mp4Bytes,
  pdfBytes,
  peExecutableBytes,
  pngImage,
  quicktimeBytes,
  svgBytes,
  webmBytes,
  webpBytes,
  zipBytes,
} from "../../../support/media.js";
import { ACCEPTED_DETECTIONS, detectType, sniff } from "./sniff.js";

describe("detecting what bytes really are", () => {
  it.each([
    ["image/png", pngImage()],
    ["image/jpeg", jpegBytes()],
    ["image/webp", webpBytes()],
    ["image/heic", heicBytes()],
    ["video/mp4", mp4Bytes()],
    ["video/quicktime", quicktimeBytes()],
    ["video/webm", webmBytes()],
    ["application/pdf", pdfBytes()],
  ])("accepts real %s bytes declared as such", async (declared, bytes) => {
    expect(await sniff(declared, bytes)).toEqual({ matches: true, detected: expect.any(String) });
  });

  it("has an entry for every type some owner type accepts", async () => {
    const { OWNER_TYPE_POLICIES } = await import("../policies/owner-types.js");
    const allowed = new Set(Object.values(OWNER_TYPE_POLICIES).flatMap((p) => Object.keys(p.maxBytesByType)));
    expect([...allowed].sort()).toEqual(Object.keys(ACCEPTED_DETECTIONS).sort());
  });

  it("treats MP4 and QuickTime brands as the same container family", async () => {
    expect((await sniff("video/mp4", quicktimeBytes())).matches).toBe(true);
    expect((await sniff("video/quicktime", mp4Bytes())).matches).toBe(true);
  });

  it.each([
    ["a ZIP archive", zipBytes(), "application/zip"],
    ["a PE executable", peExecutableBytes(), "application/x-msdownload"],
    ["HTML", htmlBytes(), null],
    ["SVG", svgBytes(), null],
    ["a PDF", pdfBytes(), "application/pdf"],
    ["a JPEG", jpegBytes(), "image/jpeg"],
  ])("refuses %s declared as image/png", async (_name, bytes, detected) => {
    expect(await sniff("image/png", bytes)).toEqual({ matches: false, detected });
  });

  it.each(["constructor", "__proto__", "toString", "hasOwnProperty"])("refuses bytes declared as %s (a prototype member, not a type)", async (declared) => {
    expect(await sniff(declared, pngImage())).toEqual({ matches: false, detected: "image/png" });
  });

  it("refuses an image declared as a video and a video declared as an image", async () => {
    expect((await sniff("video/mp4", pngImage())).matches).toBe(false);
    expect((await sniff("image/heic", mp4Bytes())).matches).toBe(false);
  });

  it("recognises nothing in empty or text bytes", async () => {
    expect(await detectType(new Uint8Array())).toBeNull();
    expect(await detectType(Buffer.from("hello"))).toBeNull();
  });
});
