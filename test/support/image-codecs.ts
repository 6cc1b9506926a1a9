/** The image codecs the deployed media worker is given (sharp; Debian's native heif-convert), for tests on real parts. */
import { NativeHeifDecoder } from "@fitkit/core/adapters/libheif/native-heif-decoder";
import { SharpImageCodec } from "@fitkit/core/adapters/sharp/sharp-image-codec";
import type { ImageCodecs } from "@fitkit/core/media/image-codec";

export const imageCodecs: ImageCodecs = { codec: new SharpImageCodec(), heif: new NativeHeifDecoder() };
