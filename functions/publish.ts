/** Internal `publish` — an org's logo or minisite image as public, immutable, responsive renditions. */
import { publish, publishRequestSchema } from "@fitkit/core/publishing/publish";
import { imageCodec } from "./lib/deps/image-codec.js";
import { mediaVariants } from "./lib/deps/media-variants.js";
import { mediaReader, publicBucket, publishedMedia } from "./lib/deps/publishing.js";
import { internalOperation } from "./lib/internal.js";
import { readBucket } from "./lib/resources.js";

export const handler = internalOperation(publishRequestSchema, async (request) =>
  publish(
    {
      mediaBucket: readBucket("MediaBucket"),
      media: mediaReader(),
      variants: await mediaVariants(),
      published: await publishedMedia(),
      public: publicBucket(),
      images: imageCodec(),
    },
    request,
  ),
);
