/**
 * The media-processing port: the processing state recorded on each linked image, and the outbox of
 * processing jobs that consume's commit writes (docs/ARCHITECTURE.md, "Media processing"). Every
 * method is one atomic step and one round trip; the state lives with the object's link, so release
 * and reconciliation see the variants of exactly the objects they see.
 */
import type { ImageVariant, VideoVariant } from "../contract/catalog.js";
import type { ObjectRef } from "../quotas/linked-objects.js";

/** The image types that are processed into variants (and never served as uploaded). */
export const PROCESSABLE_IMAGE_TYPES: ReadonlySet<string> = new Set(["image/jpeg", "image/png", "image/webp", "image/heic"]);

/** The video types that are processed into a playback rendition, a metadata-free copy and a poster (never served as uploaded). */
export const PROCESSABLE_VIDEO_TYPES: ReadonlySet<string> = new Set(["video/mp4", "video/quicktime", "video/webm"]);

export const isProcessableImage = (contentType: string): boolean => PROCESSABLE_IMAGE_TYPES.has(contentType);
export const isProcessableVideo = (contentType: string): boolean => PROCESSABLE_VIDEO_TYPES.has(contentType);
/** Whether a linked upload of this type is processed in the background (images and videos; PDFs are not). */
export const isProcessableMedia = (contentType: string): boolean => isProcessableImage(contentType) || isProcessableVideo(contentType);

/**
 * How long consume has to hand its own jobs to the queue (and acknowledge them) before the
 * sweeper's re-drive may deliver them too. A second delivery is harmless, only wasted work.
 */
export const MEDIA_HANDOFF_GRACE_SECONDS = 60;

/** Why an image or a video has no variants: too many pixels declared, or not decodable. Final: never retried. */
export type MediaFailureCode = "IMAGE_TOO_LARGE" | "IMAGE_UNREADABLE" | "VIDEO_TOO_LARGE" | "VIDEO_UNREADABLE";

/** One linked image or video to process. Its JSON (`encodeMediaJob`) is its identity in the outbox and on the queue. */
export interface MediaJob {
  bucket: string;
  key: string;
  contentType: string;
  orgId: string;
}

/** The canonical JSON of a job (fixed field order), so the same job is the same outbox member. */
export function encodeMediaJob(job: MediaJob): string {
  return JSON.stringify({ bucket: job.bucket, key: job.key, contentType: job.contentType, orgId: job.orgId });
}

export interface StoredVariant {
  key: string;
  contentType: string;
  size: number;
}

/** A processed image: its three copies; the uploaded bytes are never served. */
export interface ReadyImage {
  status: "ready";
  /** Of the oriented image (as displayed). */
  width: number;
  height: number;
  /** ThumbHash, base64. */
  placeholder: string;
  variants: Record<ImageVariant, StoredVariant>;
}

/** A processed video: its three copies and facts; the uploaded bytes are never served. */
export interface ReadyVideo {
  status: "ready";
  /** As displayed (the container's rotation applied). */
  width: number;
  height: number;
  /** From the container; null when it states none (e.g. a WebM recorded by a browser). */
  durationMs: number | null;
  /** ThumbHash of the poster, base64. */
  placeholder: string;
  /** `original`: the streams without metadata; `playback`: H.264/AAC MP4 ≤ 1280 px; `poster`: a JPEG frame. */
  variants: Record<VideoVariant, StoredVariant>;
}

export type MediaOutcome = ReadyImage | ReadyVideo | { status: "failed"; code: MediaFailureCode };

/** A ready outcome is a video's when it carries the video facts (records of images never do). */
export const isReadyVideo = (outcome: ReadyImage | ReadyVideo): outcome is ReadyVideo => "durationMs" in outcome;

/**
 * An outcome a later release supersedes: a video recorded before its `playback` and `original`
 * copies existed (a poster only), whose upload is no longer signed as stored. `recordMedia`
 * replaces such an outcome once (its bytes replaced by the new ones) and `scheduleMediaJobs`
 * schedules it, as if none were recorded. The Redis scripts mirror this test
 * (`SUPERSEDED_MEDIA` in core/src/adapters/redis/media-scripts.ts).
 */
export const isSupersededOutcome = (outcome: MediaOutcome | null | undefined): boolean =>
  outcome?.status === "ready" && "durationMs" in outcome && !("playback" in outcome.variants);

/** A linked image's state: recorded outcome, or still processing. */
export type MediaState = MediaOutcome | { status: "processing" };

export interface MediaVariants {
  /** The state of each object, in order, in one round trip; null when the object is not linked. */
  mediaStates(objects: ObjectRef[]): Promise<(MediaState | null)[]>;
  /**
   * Records the outcome on the linked object once (a superseded outcome, `isSupersededOutcome`,
   * is replaced once) and adds the variants' bytes to its org's `used` in the same step. `linked: false` — the object was released meanwhile (the caller deletes what
   * it wrote); `recorded: false` — an outcome was already recorded (a redelivered job: nothing counted twice).
   */
  recordMedia(object: ObjectRef & { orgId: string }, outcome: MediaOutcome): Promise<{ linked: boolean; recorded: boolean }>;
  /** Leases up to `limit` outbox jobs that are due (their hand-off did not happen or was not acknowledged). */
  claimMediaJobs(request: { limit: number; leaseSeconds: number }): Promise<MediaJob[]>;
  /** Drops jobs from the outbox once the queue accepted them. */
  ackMediaJobs(jobs: MediaJob[]): Promise<void>;
  /**
   * Puts jobs in the outbox, due now — only those whose object is linked to the job's org with no
   * outcome recorded (or a superseded one) and that are not in the outbox already (the backfill of images linked before
   * processing existed). Answers how many were added; repeating it adds nothing.
   */
  scheduleMediaJobs(jobs: MediaJob[]): Promise<{ scheduled: number }>;
}
