/**
 * How much of a stored image the media code reads into memory and decodes. Its own module so that publish,
 * which needs the limits but not the HEIC decoder, does not pull process-media (and libheif) into its bundle.
 */

/** Larger image sources are not read whole into memory (uploads are far smaller; see the owner-type table). */
export const MAX_SOURCE_BYTES = 64 * 1024 * 1024;

/** Decoded pixels allowed per image: a 48-MP phone photo fits, a decompression bomb does not. */
export const MAX_INPUT_PIXELS = 50_000_000;

/**
 * Pixels a HEIF decoder may decode for one file, every top-level image and every tile counted: a
 * 48-MP iPhone photo is 192 tiles of 512² (50.3 MP, its grid overhangs the canvas); a file whose
 * first item is a 12×12 grid of 1024² tiles (151 MP) is refused before decoding.
 */
export const MAX_DECODED_PIXELS = 64_000_000;
