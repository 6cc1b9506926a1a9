/**
 * What process-media makes of one linked video, through the video codec port (video-codec.ts):
 * its facts, a web-safe playback rendition, a metadata-free copy of its streams (what `original`
 * serves: the phone's bytes are never signed) and a poster frame. The limits come from the
 * owner-type table; a video over them, or one the codec cannot read, throws VideoRejectedError —
 * recorded as failed, never retried.
 */
import { OWNER_TYPE_POLICIES, type OwnerType, type VideoLimits } from "../policies/owner-types.js";
import type { ImageCodec } from "./image-codec.js";
import { ImageRejectedError, POSTER_LONG_EDGE, type RenderedPoster, renderPoster } from "./image-pipeline.js";
import { type VideoCodec, type VideoFacts, type VideoInput, VideoRejectedError } from "./video-codec.js";

export { VideoRejectedError } from "./video-codec.js";

/** The playback rendition's long edge (never upscaled). */
export const PLAYBACK_LONG_EDGE = 1280;
/** Frame rates up to this are kept (coaches slow form videos down); faster ones are reduced to it. */
export const PLAYBACK_MAX_FRAME_RATE = 60;
/** The video bitrate cap of a 1280×720 rendition; other sizes get it in proportion to their pixels. */
export const PLAYBACK_KBPS_AT_720P = 2500;
/** The poster frame is taken this far in (the first frames are often black or a fade-in)… */
const POSTER_AT_SECONDS = 1;

/** How long the codec may take: a fixed allowance plus a multiple of the video's (or its limit's) duration. */
export interface VideoTimeBounds {
  /** Fixed part of the transcode's bound, ms (a short clip on a busy CPU still gets this long). */
  baseMs: number;
  /** Transcode time allowed per second of source, ms (1000 = as long as the video plays). */
  transcodeMsPerSecond: number;
  /** The stream copy's bound, ms (it reads and writes the file once, without decoding). */
  copyMs: number;
}

/**
 * Defaults: a 300 s video may take 60 s + 1.5 × 300 s = 8.5 min to transcode and 1 min to copy —
 * with the probe and the poster's frames, within process-media's 15 minutes (stacks/functions.ts).
 */
export const DEFAULT_VIDEO_TIME_BOUNDS: VideoTimeBounds = { baseMs: 60_000, transcodeMsPerSecond: 1500, copyMs: 60_000 };

/** The limits of an owner type that accepts videos. */
export function videoLimitsOf(ownerType: OwnerType): VideoLimits {
  const limits = OWNER_TYPE_POLICIES[ownerType].video;
  if (!limits) throw new TypeError(`${ownerType} does not accept videos`);
  return limits;
}

/**
 * Where the poster frame is taken: at 1 s, halfway through a clip shorter than 2 s, and at 1 s
 * when the duration is unknown (the caller falls back to the first frame if that finds none).
 */
export function posterTimeSeconds(durationMs: number | null): number {
  if (durationMs === null || durationMs >= 2 * POSTER_AT_SECONDS * 1000) return POSTER_AT_SECONDS;
  return durationMs / 2000;
}

/** The video as displayed: the container's quarter turns applied. */
export function displayedSize(facts: Pick<VideoFacts, "codedWidth" | "codedHeight" | "rotation">): { width: number; height: number } {
  const turned = facts.rotation === 90 || facts.rotation === 270;
  return turned ? { width: facts.codedHeight, height: facts.codedWidth } : { width: facts.codedWidth, height: facts.codedHeight };
}

/** The playback frame: long edge at most PLAYBACK_LONG_EDGE (never up), both sides even and ≥ 2. */
export function playbackSize(displayed: { width: number; height: number }): { width: number; height: number } {
  const factor = Math.min(1, PLAYBACK_LONG_EDGE / Math.max(displayed.width, displayed.height));
  const even = (side: number) => Math.max(2, Math.floor((side * factor) / 2) * 2);
  return { width: even(displayed.width), height: even(displayed.height) };
}

/** PLAYBACK_KBPS_AT_720P in proportion to the frame's pixels (a 1280×960 frame gets more, 640×360 less). */
export function playbackKbps(size: { width: number; height: number }): number {
  return Math.max(300, Math.round((PLAYBACK_KBPS_AT_720P * size.width * size.height) / (1280 * 720)));
}

export interface RenderedVideo {
  /** As displayed: the container's rotation applied. */
  width: number;
  height: number;
  durationMs: number | null;
  poster: RenderedPoster;
  /** The H.264/AAC MP4 written to `files.playback`, and its frame. */
  playback: { file: string; width: number; height: number };
  /** The metadata-free copy of the streams, written to `files.original`. */
  original: { file: string };
}

export interface RenderVideoRequest {
  input: VideoInput;
  ownerType: OwnerType;
  /** Where the two videos are written (a private temporary directory of the caller's). */
  files: { playback: string; original: string };
  /** The input's size: the copy may not grow past it by more than its container's overhead. */
  inputBytes: number;
  bounds?: VideoTimeBounds;
  /** The poster frame is encoded with the image codec (as images' variants are). */
  imageCodec: ImageCodec;
}

/**
 * Invariants: nothing is written before the facts are within the owner type's limits (pixels of
 * every video stream, duration); the playback rendition is H.264/AAC in MP4 with `moov` first,
 * long edge ≤ PLAYBACK_LONG_EDGE, no metadata; the original copy holds the same streams as the
 * input without its metadata; the poster is a JPEG re-encoded from one decoded frame of the
 * playback rendition. Each codec run is bounded in time relative to the duration, so a video that
 * outruns its bound throws VideoRejectedError (failed) instead of timing out the worker (retried).
 */
export async function renderVideo(codec: VideoCodec, request: RenderVideoRequest): Promise<RenderedVideo> {
  const limits = videoLimitsOf(request.ownerType);
  const bounds = request.bounds ?? DEFAULT_VIDEO_TIME_BOUNDS;
  const facts = await codec.probe(request.input);
  if (facts.maxPixels > limits.maxPixels) {
    throw new VideoRejectedError("VIDEO_TOO_LARGE", `a video stream has ${facts.maxPixels} pixels per frame (limit ${limits.maxPixels})`);
  }
  if (facts.durationMs !== null && facts.durationMs > limits.maxDurationSeconds * 1000) {
    throw new VideoRejectedError("VIDEO_TOO_LARGE", `the video lasts ${facts.durationMs} ms (limit ${limits.maxDurationSeconds} s)`);
  }
  const displayed = displayedSize(facts);
  const size = playbackSize(displayed);
  // A container that states no duration is held to the owner type's longest (the encoder stops there too).
  const seconds = facts.durationMs === null ? limits.maxDurationSeconds : facts.durationMs / 1000;
  // The copy reads and writes the file once, without decoding: it runs beside the transcode, in its
  // shadow. Both are awaited before anything fails, so no child outlives this call.
  const [transcoded, copied] = await Promise.allSettled([
    codec.transcodePlayback(request.input, {
      output: request.files.playback,
      ...size,
      maxFrameRate: PLAYBACK_MAX_FRAME_RATE,
      maxVideoKbps: playbackKbps(size),
      maxDurationSeconds: limits.maxDurationSeconds,
      timeoutMs: Math.round(bounds.baseMs + bounds.transcodeMsPerSecond * seconds),
    }),
    codec.remuxOriginal(request.input, {
      output: request.files.original,
      timeoutMs: bounds.copyMs,
      maxBytes: request.inputBytes + 16 * 1024 * 1024,
    }),
  ]);
  if (transcoded.status === "rejected") throw transcoded.reason;
  if (copied.status === "rejected") throw copied.reason;

  const playback: VideoInput = { file: request.files.playback, contentType: "video/mp4" };
  const at = posterTimeSeconds(facts.durationMs);
  const frame =
    (await codec.extractFrame(playback, { atSeconds: at, longEdge: POSTER_LONG_EDGE })) ??
    (at > 0 ? await codec.extractFrame(playback, { atSeconds: 0, longEdge: POSTER_LONG_EDGE }) : null);
  if (!frame) throw new VideoRejectedError("VIDEO_UNREADABLE", "no decodable video frame");
  let poster: RenderedPoster;
  try {
    poster = await renderPoster(request.imageCodec, frame);
  } catch (error) {
    if (error instanceof ImageRejectedError) throw new VideoRejectedError("VIDEO_UNREADABLE", `frame not decodable: ${error.message}`);
    throw error;
  }
  return {
    ...displayed,
    durationMs: facts.durationMs,
    poster,
    playback: { file: request.files.playback, ...size },
    original: { file: request.files.original },
  };
}
