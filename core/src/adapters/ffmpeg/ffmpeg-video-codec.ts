/**
 * `VideoCodec` adapter for ffmpeg and ffprobe (Debian's packages: the worker's container image,
 * CI and the tests run the same maintained builds). The bytes are an uploader's, so every run is
 * a bounded child (bounded-child.ts: empty environment, kernel limits, killed on time) and ffmpeg
 * is never left to guess: the demuxer is forced from the sniffed type (never probed from the
 * content, which could name a playlist or a concat list) and only the `file` protocol is allowed
 * (no network, no other inputs). Facts come from ffprobe's JSON only — the log is text for people,
 * and a file can write into it (metadata values and keys are printed there).
 */
import * as z from "zod";
import { type PlaybackRequest, type VideoCodec, type VideoFacts, type VideoInput, VideoRejectedError } from "../../media/video-codec.js";
import { type ChildLimits, type ChildRun, runBoundedChild } from "../child-process/bounded-child.js";

/** The demuxer for each processable video type: ffmpeg never probes the format itself. */
const DEMUXER_BY_TYPE: Readonly<Record<string, string>> = {
  "video/mp4": "mov",
  "video/quicktime": "mov",
  "video/webm": "matroska",
};

/** The muxer of a metadata-free copy of each type (its streams unchanged). */
const MUXER_BY_TYPE: Readonly<Record<string, string>> = {
  "video/mp4": "mp4",
  "video/quicktime": "mov",
  "video/webm": "webm",
};

const MiB = 1024 * 1024;

export interface FfmpegVideoCodecOptions {
  ffmpegPath: string;
  ffprobePath: string;
  /** util-linux `prlimit`, which applies the memory, file-size and CPU limits; null runs without them (said at start by the caller). */
  prlimitPath: string | null;
  /** Threads of the decoder and of the encoder each (the worker's CPU share). Default 2. */
  threads?: number;
  /** Address space of one ffmpeg or ffprobe run. Default 2 GiB (a 4K HEVC decode with an H.264 encode fits in about 1 GiB). */
  maxMemoryBytes?: number;
  /** One probe or one frame is killed after this long. Default 20 s. */
  probeTimeoutMs?: number;
  /** x264's preset: speed against size. Default "veryfast". */
  preset?: string;
  /** x264 options over the preset's (`-x264-params`, `key=value:…`), e.g. to put back one the preset drops. Default none. */
  x264Params?: string;
}

/** The part of ffprobe's JSON that is read (everything else, tags included, is ignored). */
const probeSchema = z.object({
  streams: z
    .array(
      z.object({
        codec_type: z.string().optional(),
        width: z.number().int().optional(),
        height: z.number().int().optional(),
        coded_width: z.number().int().optional(),
        coded_height: z.number().int().optional(),
        duration: z.string().optional(),
        disposition: z.object({ attached_pic: z.number().optional() }).partial().optional(),
        side_data_list: z.array(z.object({ rotation: z.number().optional() }).loose()).optional(),
      }),
    )
    .default([]),
  format: z.object({ duration: z.string().optional() }).loose().optional(),
});

/** Seconds as ffprobe writes them ("2.000000") → milliseconds; null for anything else. */
const millisecondsOf = (seconds: string | undefined): number | null => {
  if (seconds === undefined || !/^\d{1,9}(\.\d+)?$/.test(seconds)) return null;
  return Math.round(Number(seconds) * 1000);
};

/** The display matrix's rotation (ffprobe: degrees, counter-clockwise, possibly negative) as a quarter turn. */
const quarterTurn = (degrees: number | undefined): VideoFacts["rotation"] => {
  const turned = ((Math.round((degrees ?? 0) / 90) * 90) % 360) + 360;
  return (turned % 360) as VideoFacts["rotation"];
};

/** ffprobe's JSON → the facts; null when it names no video stream with a size. */
export function parseProbeJson(json: string): VideoFacts | null {
  let parsed: z.output<typeof probeSchema>;
  try {
    parsed = probeSchema.parse(JSON.parse(json));
  } catch {
    return null;
  }
  const videos = parsed.streams.filter((s) => s.codec_type === "video" && s.disposition?.attached_pic !== 1);
  const sizes = videos.map((s) => ({
    width: Math.max(s.width ?? 0, s.coded_width ?? 0),
    height: Math.max(s.height ?? 0, s.coded_height ?? 0),
  }));
  const first = videos[0];
  if (!first?.width || !first.height || first.width < 1 || first.height < 1) return null;
  return {
    codedWidth: first.width,
    codedHeight: first.height,
    rotation: quarterTurn(first.side_data_list?.find((d) => d.rotation !== undefined)?.rotation),
    maxPixels: Math.max(...sizes.map((s) => s.width * s.height)),
    durationMs: millisecondsOf(parsed.format?.duration) ?? millisecondsOf(first.duration),
    hasAudio: parsed.streams.some((s) => s.codec_type === "audio"),
  };
}

export class FfmpegVideoCodec implements VideoCodec {
  private readonly threads: number;
  private readonly maxMemoryBytes: number;
  private readonly probeTimeoutMs: number;
  private readonly preset: string;
  private readonly x264Params: string | undefined;

  constructor(private readonly options: FfmpegVideoCodecOptions) {
    this.threads = options.threads ?? 2;
    this.maxMemoryBytes = options.maxMemoryBytes ?? 2048 * MiB;
    this.probeTimeoutMs = options.probeTimeoutMs ?? 20_000;
    this.preset = options.preset ?? "veryfast";
    this.x264Params = options.x264Params;
  }

  async probe(input: VideoInput): Promise<VideoFacts> {
    const run = await this.run(this.options.ffprobePath, ["-v", "error", "-show_streams", "-show_format", "-of", "json", ...inputArgs(input)], {
      timeoutMs: this.probeTimeoutMs,
      maxStdoutBytes: 4 * MiB,
      maxFileBytes: 0,
    });
    if (run.timedOut) throw new VideoRejectedError("VIDEO_UNREADABLE", "ffprobe did not open the container in time");
    if (run.overflowed) throw new VideoRejectedError("VIDEO_UNREADABLE", "ffprobe described more than 4 MiB of streams");
    const facts = run.exitCode === 0 ? parseProbeJson(run.stdout.toString("utf8")) : null;
    if (!facts) throw new VideoRejectedError("VIDEO_UNREADABLE", `no readable video stream: ${lastLine(run)}`);
    return facts;
  }

  async transcodePlayback(input: VideoInput, request: PlaybackRequest): Promise<void> {
    // ffmpeg turns the frame as the display matrix says (autorotate) before this filter sees it.
    const scale = `scale=w=${request.width}:h=${request.height}`;
    const maxKbps = request.maxVideoKbps;
    const args = [
      ["-hide_banner", "-nostdin", "-v", "error", "-threads", String(this.threads)],
      inputArgs(input),
      ["-map", "0:v:0", "-map", "0:a:0?", "-sn", "-dn", "-map_metadata", "-1", "-map_chapters", "-1", "-t", String(request.maxDurationSeconds)],
      ["-vf", `${scale},format=yuv420p`, "-fpsmax", String(request.maxFrameRate)],
      ["-c:v", "libx264", "-preset", this.preset, "-profile:v", "high", "-crf", "23", "-threads", String(this.threads)],
      this.x264Params ? ["-x264-params", this.x264Params] : [],
      ["-maxrate", `${maxKbps}k`, "-bufsize", `${maxKbps * 2}k`],
      // x264 writes its settings as SEI user data: dropped with every other SEI unit.
      ["-bsf:v", "filter_units=remove_types=6"],
      ["-c:a", "aac", "-profile:a", "aac_low", "-b:a", "128k", "-ac", "2"],
      // bitexact: no encoder names or creation times; faststart: moov before mdat.
      ["-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact", "-movflags", "+faststart", "-f", "mp4", "-y", request.output],
    ].flat();
    // The most an honest transcode writes: the capped bitrate (plus audio) for the capped duration, twice over, and a floor.
    const maxFileBytes = Math.ceil(((maxKbps * 2 + 256) * 1000 * request.maxDurationSeconds) / 8) + 64 * MiB;
    const run = await this.run(this.options.ffmpegPath, args, { timeoutMs: request.timeoutMs, maxStdoutBytes: 0, maxFileBytes });
    this.assertCompleted(run, "transcode");
  }

  async remuxOriginal(input: VideoInput, request: { output: string; timeoutMs: number; maxBytes: number }): Promise<void> {
    const muxer = MUXER_BY_TYPE[input.contentType];
    if (!muxer) throw new TypeError(`${input.contentType} is not a processable video type`);
    const args = [
      ["-hide_banner", "-nostdin", "-v", "error"],
      inputArgs(input),
      // The first video and audio streams only: a phone's timed-metadata tracks carry its location too.
      ["-map", "0:v:0", "-map", "0:a:0?", "-c", "copy", "-map_metadata", "-1", "-map_chapters", "-1"],
      ["-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact"],
      muxer === "webm" ? [] : ["-movflags", "+faststart"],
      ["-f", muxer, "-y", request.output],
    ].flat();
    // faststart rewrites the file once: the copy is about the input's size.
    const run = await this.run(this.options.ffmpegPath, args, { timeoutMs: request.timeoutMs, maxStdoutBytes: 0, maxFileBytes: request.maxBytes });
    this.assertCompleted(run, "copy");
  }

  async extractFrame(input: VideoInput, request: { atSeconds: number; longEdge: number }): Promise<Buffer | null> {
    const fit = `scale=w='min(${request.longEdge},iw)':h='min(${request.longEdge},ih)':force_original_aspect_ratio=decrease`;
    const run = await this.run(
      this.options.ffmpegPath,
      [
        ["-hide_banner", "-nostdin", "-v", "error", "-threads", String(this.threads), "-ss", request.atSeconds.toFixed(3)],
        inputArgs(input),
        ["-map", "0:v:0", "-an", "-sn", "-dn", "-frames:v", "1", "-vf", fit, "-f", "image2pipe", "-c:v", "png", "pipe:1"],
      ].flat(),
      // A PNG of at most 1280×1280 RGB(A) is far smaller; more means something else is being written.
      { timeoutMs: this.probeTimeoutMs, maxStdoutBytes: 32 * MiB, maxFileBytes: 0 },
    );
    if (run.timedOut) throw new VideoRejectedError("VIDEO_UNREADABLE", "ffmpeg did not decode a frame in time");
    if (run.overflowed) throw new VideoRejectedError("VIDEO_UNREADABLE", "ffmpeg wrote more than one frame's bytes");
    return run.exitCode === 0 && run.stdout.length > 0 ? run.stdout : null;
  }

  private run(command: string, args: string[], limits: Omit<ChildLimits, "maxMemoryBytes">): Promise<ChildRun> {
    return runBoundedChild({ command, args, prlimitPath: this.options.prlimitPath, limits: { ...limits, maxMemoryBytes: this.maxMemoryBytes } });
  }

  private assertCompleted(run: ChildRun, what: string): void {
    if (run.timedOut) throw new VideoRejectedError("VIDEO_UNREADABLE", `the ${what} outran its time bound`);
    if (run.signal === "SIGXFSZ") throw new VideoRejectedError("VIDEO_TOO_LARGE", `the ${what} outgrew its size bound`);
    if (run.exitCode !== 0) throw new VideoRejectedError("VIDEO_UNREADABLE", `the ${what} failed: ${lastLine(run)}`);
  }
}

/** Local files only, the demuxer forced from the sniffed type. */
function inputArgs(input: VideoInput): string[] {
  const demuxer = DEMUXER_BY_TYPE[input.contentType];
  if (!demuxer) throw new TypeError(`${input.contentType} is not a processable video type`);
  return ["-protocol_whitelist", "file", "-f", demuxer, "-i", `file:${input.file}`];
}

const lastLine = (run: ChildRun): string => run.stderr.trim().split("\n").at(-1)?.slice(0, 300) || `exit ${run.exitCode ?? run.signal}`;
