/**
 * The HeifDecoder contract, run against both adapters — Debian's native heif-convert (the media
 * worker's) and libheif-js (wasm, the fallback) — on real HEIC files (heif-enc, and a grid written
 * box by box): the primary image is decoded, upright, whatever comes first in the file; a file
 * libheif cannot decode is HeifDecodeError. The native child's bounds are checked on their own.
 */
import { NATIVE_HEIF_LIMITS, NativeHeifDecoder } from "@fitkit/core/adapters/libheif/native-heif-decoder";
import { WasmHeifDecoder } from "@fitkit/core/adapters/libheif/wasm-heif-decoder";
import { heifDecodePlan } from "@fitkit/core/media/heif-boxes";
import type { HeifDecoder, RawPixels } from "@fitkit/core/media/image-codec";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { heicGridBomb, phoneHeic, undecodableHeic } from "../support/media.js";

/** The decoded image's size and its mean colour (channels 0–2). */
async function described(decoded: { jpeg: Buffer } | { pixels: RawPixels }) {
  const image =
    "jpeg" in decoded
      ? sharp(decoded.jpeg)
      : sharp(decoded.pixels.data, { raw: { width: decoded.pixels.width, height: decoded.pixels.height, channels: decoded.pixels.channels } });
  const { info } = await image.clone().raw().toBuffer({ resolveWithObject: true });
  const stats = await image.stats();
  return { width: info.width, height: info.height, mean: stats.channels.slice(0, 3).map((c) => Math.round(c.mean)) };
}

describe.each([
  ["native heif-convert", () => new NativeHeifDecoder()],
  ["wasm libheif-js", () => new WasmHeifDecoder()],
] as const)("HeifDecoder: %s", (_name, make) => {
  const decoder: HeifDecoder = make();

  it("decodes a phone's HEVC HEIC to its own size", async () => {
    const heic = phoneHeic(640, 480);
    expect(await described(await decoder.decodePrimary(heic, heifDecodePlan(heic), 90))).toMatchObject({ width: 640, height: 480 });
  });

  it("decodes the primary image, not the grid stored first", async () => {
    const heic = heicGridBomb({ rows: 2, columns: 2 });
    const plan = heifDecodePlan(heic);
    expect(plan.topLevel.map((i) => i.itemType)).toEqual(["grid", "hvc1"]);
    expect(await described(await decoder.decodePrimary(heic, plan, 90))).toMatchObject({ width: 64, height: 64 });
  });

  it("a file libheif cannot decode is HeifDecodeError", async () => {
    const heic = undecodableHeic();
    await expect(decoder.decodePrimary(heic, heifDecodePlan(heic), 90)).rejects.toMatchObject({ name: "HeifDecodeError" });
  });
});

describe("the native decoder's bounds", () => {
  it("a decode needing more memory than its bound fails inside the child (HeifDecodeError), the worker untouched", async () => {
    // The bomb's plan is only read here: the caller (image-pipeline) would refuse it before this point.
    // Debian's libheif 1.15 decodes a grid's tiles on worker threads; when the address-space bound
    // strikes, the child either exits 1, aborts (SIGABRT), or — when a worker's allocation fails —
    // deadlocks with every thread in futex_wait, using no CPU (about half the runs here). Only
    // the wall clock ends that one, so it is kept short here: each of the three is HeifDecodeError.
    const bomb = heicGridBomb();
    const decoder = new NativeHeifDecoder(undefined, { ...NATIVE_HEIF_LIMITS, maxMemoryBytes: 256 * 1024 * 1024, timeoutMs: 5_000 });
    const before = process.memoryUsage().rss;

    await expect(decoder.decodePrimary(bomb, heifDecodePlan(bomb), 90)).rejects.toMatchObject({ name: "HeifDecodeError" });

    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });

  it("a decode running past its deadline is killed", async () => {
    const heic = phoneHeic(1600, 1200);
    const decoder = new NativeHeifDecoder(undefined, { ...NATIVE_HEIF_LIMITS, timeoutMs: 1 });
    await expect(decoder.decodePrimary(heic, heifDecodePlan(heic), 90)).rejects.toThrow(/did not finish within 1 ms/);
  });
});
