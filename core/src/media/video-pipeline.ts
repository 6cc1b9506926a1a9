/**
 * Reading one video with ffmpeg (a static binary shipped in an npm package): its facts from the
 * container and one frame for its poster. The bytes are an uploader's, so ffmpeg is held short:
 * the demuxer is chosen from the sniffed type (never guessed from the content, which could name a
 * playlist or a concat list), only the `file` protocol is allowed (no network, no other inputs),
 * every run is killed after FFMPEG_TIMEOUT_MS, and its output is capped. Anything ffmpeg cannot
 * read becomes VideoRejectedError — recorded as failed, never retried.
 */
import { type FfmpegRun, runFfmpeg } from "../adapters/child-process/run-ffmpeg.js";
import type { ImageCodec } from "./image-codec.js";
import { ImageRejectedError, POSTER_LONG_EDGE, type RenderedPoster, renderPoster } from "./image-pipeline.js";
import type { MediaFailureCode } from "./media-variants.js";

/** Pixels per frame allowed: DCI 8K (8192×4320) fits, a frame that would exhaust the worker does not. */
export const MAX_VIDEO_PIXELS = 40_000_000;
/** One ffmpeg run (probe or frame) is killed after this long. */
export const FFMPEG_TIMEOUT_MS = 30_000;
/** A PNG frame of at most 1280×1280 RGB(A) is far smaller; more means something else is being written. */
const MAX_FRAME_BYTES = 32 * 1024 * 1024;
/** The poster frame is taken this far in (the first frames are often black or a fade-in)… */
const POSTER_AT_SECONDS = 1;

/** The demuxer for each processable video type: ffmpeg never probes the format itself. */
const DEMUXER_BY_TYPE: Readonly<Record<string, string>> = {
  "video/mp4": "mov",
  "video/quicktime": "mov",
  "video/webm": "matroska",
};

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

// Moved beside the other child-process runners (core/src/media imports no child_process: test/codec-imports.test.ts).
export { type FfmpegRun, runFfmpeg };

export interface VideoFacts {
  /** Of the coded frame, before the container's rotation. */
  codedWidth: number;
  codedHeight: number;
  /** Null when the container states no duration. */
  durationMs: number | null;
}

/**
 * The facts ffmpeg prints when it opens the input: the first video stream's size and the
 * container's duration. Null when there is no video stream (not a video, or not readable).
 */
export function parseVideoFacts(log: string): VideoFacts | null {
  const stream = log.split("\n").find((line) => /^\s*Stream #\d+:\d+.*: Video: /.test(line));
  // ", 1920x1080 [SAR 1:1 DAR 16:9]," — the codec tag ("avc1 / 0x31637661") never follows ", ".
  const size = stream?.match(/, (\d{1,6})x(\d{1,6})(?=[ ,]|$)/);
  if (!size) return null;
  const codedWidth = Number(size[1]);
  const codedHeight = Number(size[2]);
  if (codedWidth < 1 || codedHeight < 1) return null;
  const duration = log.match(/Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)/);
  const durationMs = duration ? Math.round(((Number(duration[1]) * 60 + Number(duration[2])) * 60 + Number(duration[3])) * 1000) : null;
  return { codedWidth, codedHeight, durationMs };
}

/**
 * Where the poster frame is taken: at 1 s, halfway through a clip shorter than 2 s, and at 1 s
 * when the duration is unknown (the caller falls back to the first frame if that finds none).
 */
export function posterTimeSeconds(durationMs: number | null): number {
  if (durationMs === null || durationMs >= 2 * POSTER_AT_SECONDS * 1000) return POSTER_AT_SECONDS;
  return durationMs / 2000;
}

const inputArgs = (file: string, contentType: string): string[] => {
  const demuxer = DEMUXER_BY_TYPE[contentType];
  if (!demuxer) throw new TypeError(`${contentType} is not a processable video type`);
  return ["-protocol_whitelist", "file", "-f", demuxer, "-i", file];
};

const limits = (maxStdoutBytes: number) => ({ timeoutMs: FFMPEG_TIMEOUT_MS, maxStdoutBytes });

/** Opens the container and reads its facts; VideoRejectedError when ffmpeg finds no readable video stream. */
export async function probeVideo(ffmpegPath: string, file: string, contentType: string): Promise<VideoFacts> {
  // With no output ffmpeg describes the input and exits 1 ("At least one output file must be specified").
  const run = await runFfmpeg(ffmpegPath, ["-hide_banner", "-nostdin", ...inputArgs(file, contentType)], limits(0));
  if (run.timedOut) throw new VideoRejectedError("VIDEO_UNREADABLE", "ffmpeg did not open the container in time");
  const facts = parseVideoFacts(run.stderr);
  if (!facts) throw new VideoRejectedError("VIDEO_UNREADABLE", `no readable video stream: ${lastLine(run.stderr)}`);
  if (facts.codedWidth * facts.codedHeight > MAX_VIDEO_PIXELS) {
    throw new VideoRejectedError("VIDEO_TOO_LARGE", `video declares ${facts.codedWidth}×${facts.codedHeight} pixels (limit ${MAX_VIDEO_PIXELS})`);
  }
  return facts;
}

/**
 * One frame at `atSeconds`, rotated as the container says (ffmpeg's default), scaled to fit
 * `longEdge` (never up), as PNG; null when there is no frame there (past the end, or undecodable).
 */
export async function extractFrame(ffmpegPath: string, file: string, contentType: string, atSeconds: number, longEdge: number): Promise<Buffer | null> {
  const fit = `scale=w='min(${longEdge},iw)':h='min(${longEdge},ih)':force_original_aspect_ratio=decrease`;
  const run = await runFfmpeg(
    ffmpegPath,
    [
      ["-hide_banner", "-nostdin", "-v", "error", "-ss", atSeconds.toFixed(3)],
      inputArgs(file, contentType),
      ["-map", "0:v:0", "-an", "-sn", "-dn", "-frames:v", "1", "-vf", fit, "-f", "image2pipe", "-c:v", "png", "pipe:1"],
    ].flat(),
    limits(MAX_FRAME_BYTES),
  );
  if (run.timedOut) throw new VideoRejectedError("VIDEO_UNREADABLE", "ffmpeg did not decode a frame in time");
  if (run.overflowed) throw new VideoRejectedError("VIDEO_UNREADABLE", "ffmpeg wrote more than one frame's bytes");
  return run.exitCode === 0 && run.stdout.length > 0 ? run.stdout : null;
}

export interface RenderedVideo {
  /** As displayed: the container's rotation applied. */
  width: number;
  height: number;
  durationMs: number | null;
  poster: RenderedPoster;
}

/**
 * Invariant: the poster is a JPEG re-encoded from one decoded frame (no metadata of the video
 * survives), oriented as a player shows the video, long edge ≤ POSTER_LONG_EDGE; the facts come
 * from the container. A video ffmpeg cannot open or decode throws VideoRejectedError; the same
 * file gives the same bytes.
 */
export async function renderVideoPoster(ffmpegPath: string, file: string, contentType: string, images: ImageCodec): Promise<RenderedVideo> {
  const facts = await probeVideo(ffmpegPath, file, contentType);
  const at = posterTimeSeconds(facts.durationMs);
  const frame =
    (await extractFrame(ffmpegPath, file, contentType, at, POSTER_LONG_EDGE)) ??
    (at > 0 ? await extractFrame(ffmpegPath, file, contentType, 0, POSTER_LONG_EDGE) : null);
  if (!frame) throw new VideoRejectedError("VIDEO_UNREADABLE", "no decodable video frame");
  let poster: RenderedPoster;
  try {
    poster = await renderPoster(images, frame);
  } catch (error) {
    if (error instanceof ImageRejectedError) throw new VideoRejectedError("VIDEO_UNREADABLE", `frame not decodable: ${error.message}`);
    throw error;
  }
  // The frame came out rotated as displayed: a frame whose orientation differs from the coded one was turned a quarter.
  const turned = poster.width !== poster.height && poster.width > poster.height !== facts.codedWidth > facts.codedHeight;
  return {
    width: turned ? facts.codedHeight : facts.codedWidth,
    height: turned ? facts.codedWidth : facts.codedHeight,
    durationMs: facts.durationMs,
    poster,
  };
}

const lastLine = (log: string): string => log.trim().split("\n").at(-1)?.slice(0, 300) ?? "";
