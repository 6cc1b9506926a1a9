/**
 * `process-media` — the media queue's subscriber: renders each linked image's variants and each
 * linked video's playback rendition, metadata-free copy and poster frame (docs/ARCHITECTURE.md, "Media processing"). A rejected image or
 * video is recorded as failed, not retried;
 * a storage or store failure reports the record failed, so the queue redelivers it (dead-letter
 * queue after 5 deliveries, MEDIA_JOB_MAX_RECEIVES).
 */
import { isProcessableVideo } from "@fitkit/core/media/media-variants";
import { mediaJobSchema, processMedia } from "@fitkit/core/media/process-media";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { videoCodec } from "./lib/deps/ffmpeg.js";
import { heifDecoder } from "./lib/deps/heif-decoder.js";
import { imageCodec } from "./lib/deps/image-codec.js";
import { mediaVariants } from "./lib/deps/media-variants.js";
import { objectStore } from "./lib/deps/storage.js";
import { coreLog, logger } from "./lib/logger.js";

export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const batchItemFailures: SQSBatchResponse["batchItemFailures"] = [];
  for (const record of event.Records) {
    let job: unknown;
    try {
      job = JSON.parse(record.body);
    } catch {
      job = null;
    }
    const parsed = mediaJobSchema.safeParse(job);
    if (!parsed.success) {
      // Redelivery cannot fix a malformed message: logged and dropped.
      logger.error("malformed media job dropped", { messageId: record.messageId });
      continue;
    }
    try {
      const video = isProcessableVideo(parsed.data.contentType) ? { videoCodec: videoCodec() } : {};
      const result = await processMedia(
        { objects: objectStore(), variants: await mediaVariants(), images: { codec: imageCodec(), heif: heifDecoder() }, log: coreLog, ...video },
        parsed.data,
      );
      logger.info("media processed", { key: parsed.data.key, result });
    } catch (error) {
      logger.error("media processing failed; the queue redelivers it", { key: parsed.data.key, error: String(error) });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}
