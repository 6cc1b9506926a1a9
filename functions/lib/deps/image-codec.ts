/** The image codec for this container: sharp (libvips), installed by SST beside the bundle (stacks/functions.ts `install`). */
import { SharpImageCodec } from "@fitkit/core/adapters/sharp/sharp-image-codec";
import { lazy } from "../lazy.js";

export const imageCodec = lazy(() => new SharpImageCodec());
