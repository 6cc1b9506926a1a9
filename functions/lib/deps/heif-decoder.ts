/**
 * The HEIF decoder for this container: Debian's native `heif-convert` as a bounded child where it is
 * installed (the media worker's container image), else libheif compiled to wasm — slower, and bounded
 * only by the decode plan checked before it runs — loaded on the first HEIC only.
 */
import { NativeHeifDecoder, nativeHeifAvailable } from "@fitkit/core/adapters/libheif/native-heif-decoder";
import type { HeifDecoder } from "@fitkit/core/media/image-codec";
import { lazy } from "../lazy.js";
import { logger } from "../logger.js";

const wasm = lazy(async () => new (await import("@fitkit/core/adapters/libheif/wasm-heif-decoder")).WasmHeifDecoder());

export const heifDecoder = lazy((): HeifDecoder => {
  if (nativeHeifAvailable()) return new NativeHeifDecoder();
  // Deployed, the media worker's image has heif-convert: its absence there is a packaging fault worth a log line.
  logger.warn("heif-convert not found: HEIC is decoded by the wasm fallback (slower, memory bounded only by the size check)");
  return { name: "wasm libheif-js", decodePrimary: async (input, plan) => (await wasm()).decodePrimary(input, plan) };
});
