/**
 * The video codec port: what process-media needs of a tool that reads and writes video files (the
 * adapter is ffmpeg/ffprobe, `core/src/adapters/ffmpeg/`). Files, not buffers: phones write the
 * index last, so a reader seeks, and a 500 MiB video is not held in memory.
 *
 * Every method reads an uploader's bytes: an adapter must treat them as hostile (no network, no
 * other files, no environment, bounded time, memory and output) and reports whatever the input
 * does as VideoRejectedError — a deployment fault (the tool missing) is any other error.
 */
import type { MediaFailureCode } from "./media-variants.js";

/** The video cannot be processed, for good: the job records this code and is not retried. */
export class VideoRejectedError extends Error {
  constructor(
    readonly code: Extract<MediaFailureCode, "VIDEO_TOO_LARGE" | "VIDEO_UNREADABLE">,
    message: string,
  ) {
    super(message);
    this.name = "VideoRejectedError";
  }
}

/** The facts of a video, from the container's structured description (never from a log). */
export interface VideoFacts {
  /** Of the coded frame of the first video stream, before the container's rotation. */
  codedWidth: number;
  codedHeight: number;
  /** Degrees a player turns the picture (0, 90, 180, 270), from the stream's display matrix. */
  rotation: 0 | 90 | 180 | 270;
  /** The largest frame of any video stream, in pixels (a second stream must not hide a bigger one). */
  maxPixels: number;
  /** From the container (or its first video stream); null when it states none. */
  durationMs: number | null;
  hasAudio: boolean;
}

/** An input file and the type it was sniffed as (the adapter forces the demuxer from it). */
export interface VideoInput {
  file: string;
  contentType: string;
}

export interface PlaybackRequest {
  /** Output file (MP4). */
  output: string;
  /** The output frame, as displayed (even sides: 4:2:0 chroma). */
  width: number;
  height: number;
  /** Frames per second kept up to this. */
  maxFrameRate: number;
  /** The video bitrate cap (VBV maximum rate), kbit/s. */
  maxVideoKbps: number;
  /** No more than this much of the input is encoded. */
  maxDurationSeconds: number;
  /** How long the transcode may take before it is killed (VideoRejectedError). */
  timeoutMs: number;
}

export interface VideoCodec {
  /** The facts of `input`; VideoRejectedError("VIDEO_UNREADABLE") when it has no readable video stream. */
  probe(input: VideoInput): Promise<VideoFacts>;
  /**
   * The web-safe copy: H.264 (High, yuv420p) and AAC-LC in MP4, `moov` before `mdat`, rotation
   * applied, no metadata of the input's (no tags, chapters, data streams or encoder user data).
   */
  transcodePlayback(input: VideoInput, request: PlaybackRequest): Promise<void>;
  /**
   * The first video and audio streams copied, unchanged, into a fresh container of the same type
   * (`moov` first) with no metadata of the input's; `output` ends in the type's extension.
   */
  remuxOriginal(input: VideoInput, request: { output: string; timeoutMs: number; maxBytes: number }): Promise<void>;
  /**
   * One frame at `atSeconds`, rotated as a player shows it, long edge ≤ `longEdge`, as PNG; null
   * when there is no frame there (past the end, or undecodable).
   */
  extractFrame(input: VideoInput, request: { atSeconds: number; longEdge: number }): Promise<Buffer | null>;
}
