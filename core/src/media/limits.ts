/**
 * How much of a stored image the media code reads into memory and decodes. Its own module so that publish,
 * which needs the limits but not the HEIC decoder, does not pull process-media (and libheif) into its bundle.
 */

/** Larger image sources are not read whole into memory (uploads are far smaller; see the owner-type table). */
export const MAX_SOURCE_BYTES = 64 * 1024 * 1024;

/** Decoded pixels allowed per image: a 48-MP phone photo fits, a decompression bomb does not. */
export const MAX_INPUT_PIXELS = 50_000_000;
