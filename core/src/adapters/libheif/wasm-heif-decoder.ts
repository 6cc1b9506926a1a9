/**
 * HeifDecoder on libheif compiled to wasm (`libheif-js`): the fallback where Debian's native tool
 * is absent (a developer's machine; the deployed media worker's image has it). It runs in the
 * worker's own process, so only the decode plan the caller checked bounds its memory (the wasm heap
 * grows to what the decode needs), and it is about three times slower than the native tool. It
 * decodes the primary image only (libheif-js parses every top-level image but decodes on demand).
 */
import libheif from "libheif-js/wasm-bundle";
import type { HeifDecodePlan } from "../../media/heif-boxes.js";
import { HeifDecodeError, type HeifDecoder, type RawPixels } from "../../media/image-codec.js";

export class WasmHeifDecoder implements HeifDecoder {
  readonly name = "wasm libheif-js";

  async decodePrimary(input: Uint8Array, plan: HeifDecodePlan): Promise<{ pixels: RawPixels }> {
    await libheif.ready;
    const decoder = new libheif.HeifDecoder();
    let images: ReturnType<typeof decoder.decode> = [];
    try {
      images = decoder.decode(input);
      const primary = images.find((image) => image.is_primary());
      if (!primary) throw new HeifDecodeError("libheif found no primary image");
      const width = primary.get_width();
      const height = primary.get_height();
      // The plan was checked on the stored size; the decoder's (after irot) must be the same pixels.
      if (width * height !== plan.primary.width * plan.primary.height)
        throw new HeifDecodeError(`libheif reports ${width}×${height}, the file declares another size`);
      const data = await new Promise<Uint8ClampedArray>((resolve, reject) =>
        primary.display({ data: new Uint8ClampedArray(width * height * 4), width, height }, (result) =>
          result ? resolve(result.data) : reject(new HeifDecodeError("libheif could not decode the primary image")),
        ),
      );
      return { pixels: { data: Buffer.from(data.buffer, data.byteOffset, data.byteLength), width, height, channels: 4 } };
    } catch (error) {
      if (error instanceof HeifDecodeError) throw error;
      throw new HeifDecodeError(`libheif: ${(error as Error).message ?? String(error)}`);
    } finally {
      for (const image of images) image.free();
      decoder.decoder.delete();
    }
  }
}
