/**
 * The video codec process-media reads and writes videos with: ffmpeg and ffprobe found on PATH —
 * Debian's packages in the worker's container image (`media-worker/Dockerfile`), in CI and on a
 * developer's machine — bounded by util-linux's `prlimit` (core/src/adapters/ffmpeg). Resolved on
 * the first video job, so images (and the cold start) never depend on it; a missing tool is a
 * deployment fault (the job is retried, then kept in the dead-letter queue).
 */
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { FfmpegVideoCodec } from "@fitkit/core/adapters/ffmpeg/ffmpeg-video-codec";
import type { VideoCodec } from "@fitkit/core/media/video-codec";
import { lazy } from "../lazy.js";

/** The executable named `name` in PATH's directories, or null. */
export function findOnPath(name: string, path = process.env.PATH ?? ""): string | null {
  for (const directory of path.split(delimiter)) {
    if (!directory) continue;
    const candidate = join(directory, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export interface VideoTools {
  ffmpeg: string | null;
  ffprobe: string | null;
  prlimit: string | null;
}

/** What this machine has: `npm start` says at start what is missing and what that means. */
export const videoTools = lazy((): VideoTools => ({ ffmpeg: findOnPath("ffmpeg"), ffprobe: findOnPath("ffprobe"), prlimit: findOnPath("prlimit") }));

/** Threads of ffmpeg's decoder and encoder each: process-media's 3008 MB buy about two vCPUs. */
export const VIDEO_THREADS = 2;
/**
 * x264's preset for the playback rendition (npm run bench, section video, measures it). Measured
 * on a phone's 20 s 1080p HEVC clip, 2 cores: `superfast` with macroblock-tree rate control put
 * back (X264_PARAMS; the preset turns it off with its lookahead) takes 12.2 CPU-s against
 * `veryfast`'s 15.8, for an SSIM of 0.9623 against 0.9619 and about 14 % more bytes at CRF 23 on
 * the noise-heavy clip (the 2.5 Mbit/s cap bounds both).
 */
export const FFMPEG_PRESET = "superfast";
/** Over the preset: mbtree with `veryfast`'s 10-frame lookahead (`superfast` has none, which turns mbtree off). */
export const X264_PARAMS = "mbtree=1:rc-lookahead=10";

export const videoCodec = lazy((): VideoCodec => {
  const tools = videoTools();
  if (!tools.ffmpeg || !tools.ffprobe) throw new Error("ffmpeg and ffprobe are not on PATH: process-media cannot read videos (apt install ffmpeg)");
  return new FfmpegVideoCodec({
    ffmpegPath: tools.ffmpeg,
    ffprobePath: tools.ffprobe,
    prlimitPath: tools.prlimit,
    threads: VIDEO_THREADS,
    preset: FFMPEG_PRESET,
    x264Params: X264_PARAMS,
  });
});

/**
 * What the local stack says at start about video processing: which tools it uses, and plainly
 * what happens without them (videos stay `processing`; everything else works).
 */
export function describeVideoTools(tools: VideoTools): string {
  if (!tools.ffmpeg || !tools.ffprobe) {
    const missing = [tools.ffmpeg ? null : "ffmpeg", tools.ffprobe ? null : "ffprobe"].filter(Boolean).join(" and ");
    return `videos: ${missing} not found on PATH — video uploads are stored and linked but never processed (signed-urls answers "processing" for them); install Debian's ffmpeg (apt install ffmpeg) and restart`;
  }
  const bound = tools.prlimit
    ? `memory, file size and CPU bounded by ${tools.prlimit}`
    : "prlimit not found on PATH (util-linux): ffmpeg runs with time and output bounds but no memory bound";
  return `videos: ${tools.ffmpeg} and ${tools.ffprobe} from PATH, ${bound}`;
}
