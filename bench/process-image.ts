/**
 * Child process of the media bench: renders one image's variants single-threaded (sharp
 * concurrency 1) and prints the time and the process's peak RSS as JSON. One image per process,
 * so `maxRSS` is that image's peak; `--baseline` loads the same modules and processes nothing.
 */
import { readFileSync } from "node:fs";
import { NativeHeifDecoder } from "@fitkit/core/adapters/libheif/native-heif-decoder";
import { SharpImageCodec } from "@fitkit/core/adapters/sharp/sharp-image-codec";
import { renderVariants } from "@fitkit/core/media/image-pipeline";
import sharp from "sharp";

const [file, contentType, mode] = process.argv.slice(2);
sharp.concurrency(1);
let ms = 0;
let variantBytes: Record<string, number> = {};
let original = "";
if (mode !== "--baseline") {
  const input = readFileSync(file!);
  const start = performance.now();
  const rendered = await renderVariants({ codec: new SharpImageCodec(), heif: new NativeHeifDecoder() }, input, contentType!);
  ms = performance.now() - start;
  variantBytes = Object.fromEntries(rendered.variants.map((v) => [v.variant, v.bytes.length]));
  original = rendered.original;
}
// resourceUsage().maxRSS is in KiB.
process.stdout.write(`${JSON.stringify({ ms, maxRssMiB: process.resourceUsage().maxRSS / 1024, variantBytes, original })}\n`);
