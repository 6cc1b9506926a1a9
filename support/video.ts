/**
 * Real, small videos made by Debian's ffmpeg (the tools process-media runs, found on PATH): a
 * test pattern encoded with H.264 or HEVC in MP4/QuickTime, or VP8 in WebM, optionally with a
 * tone, a display rotation, and a phone's location, make and model written by exiftool. No
 * binary fixtures in the repo.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The Debian tools on PATH (`.ci/run` installs `ffmpeg` and `libimage-exiftool-perl`). */
export const FFMPEG = "ffmpeg";
export const FFPROBE = "ffprobe";
export const EXIFTOOL = "exiftool";

/** Where a phone put the recording (the Eiffel Tower), as exiftool prints it back. */
export const PHONE_LOCATION = { latitude: 48.858333, longitude: 2.294444 };

/** Noise strengths for `VideoSpec.noise`. */
export const SENSOR_NOISE = 12;
export const DAYLIGHT_NOISE = 3;

export interface VideoSpec {
  width: number;
  height: number;
  seconds: number;
  /** mp4 (default), mov (QuickTime, as iPhones write) or webm. */
  format?: "mp4" | "mov" | "webm";
  /** Of mp4/mov: h264 (default) or hevc (tagged hvc1, as phones write it). */
  codec?: "h264" | "hevc";
  /** Frames per second (default 25). */
  frameRate?: number;
  /** A 440 Hz tone as AAC (mp4/mov) or Vorbis (webm). */
  audio?: boolean;
  /** Degrees a player turns the picture (the track's display matrix), mp4/mov only. */
  rotate?: 90 | 180 | 270;
  /** A phone's metadata: GPS position, make and model in the QuickTime `Keys` and `UserData` atoms. */
  phoneMetadata?: boolean;
  /** A constant video bitrate, kbit/s, as phones record (8–50 Mbit/s); default: the encoder's quality-based rate. */
  bitrateKbps?: number;
  /**
   * Moving noise over the pattern, as ffmpeg's `noise` filter strength (`alls`, 0–100), so the picture
   * costs what a camera's does to encode: SENSOR_NOISE is a small sensor in poor light (the worst
   * case), DAYLIGHT_NOISE a phone's denoised daylight picture. Default none.
   */
  noise?: number;
}

/** A test-pattern video; moov at the end, as cameras write it. */
export async function testVideo(spec: VideoSpec): Promise<Buffer> {
  const format = spec.format ?? "mp4";
  const directory = await mkdtemp(join(tmpdir(), "fitkit-video-fixture-"));
  try {
    const encoded = join(directory, `encoded.${format}`);
    const rate = spec.frameRate ?? 25;
    const pattern = `testsrc2=size=${spec.width}x${spec.height}:rate=${rate}:duration=${spec.seconds}${spec.noise ? `,noise=alls=${spec.noise}:allf=t` : ""}`;
    const inputs = ["-f", "lavfi", "-i", pattern];
    if (spec.audio) inputs.push("-f", "lavfi", "-i", `sine=frequency=440:sample_rate=48000:duration=${spec.seconds}`);
    const quality = spec.bitrateKbps === undefined ? [] : ["-b:v", `${spec.bitrateKbps}k`];
    const video =
      format === "webm"
        ? ["-c:v", "libvpx", "-deadline", "realtime", "-b:v", "300k"]
        : spec.codec === "hevc"
          ? ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-tag:v", "hvc1", "-pix_fmt", "yuv420p", ...quality]
          : ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", ...quality];
    const audio = spec.audio ? (format === "webm" ? ["-c:a", "libvorbis"] : ["-c:a", "aac"]) : [];
    await run(FFMPEG, ["-hide_banner", "-v", "error", ...inputs, ...video, ...audio, "-y", encoded]);
    let file = encoded;
    if (spec.rotate) {
      // ffmpeg 5.1 writes the `rotate` tag as the track's display matrix when remuxing.
      file = join(directory, `rotated.${format}`);
      await run(FFMPEG, ["-hide_banner", "-v", "error", "-i", encoded, "-map", "0", "-c", "copy", "-metadata:s:v:0", `rotate=${spec.rotate}`, "-y", file]);
    }
    if (spec.phoneMetadata) {
      const { latitude, longitude } = PHONE_LOCATION;
      const position = `${latitude} N, ${longitude} E`;
      await run(EXIFTOOL, [
        "-q",
        "-overwrite_original",
        `-Keys:GPSCoordinates=${position}, 35`,
        "-Keys:Make=Apple",
        "-Keys:Model=iPhone 15 Pro",
        "-Keys:CreationDate=2026:06:01 07:30:00+02:00",
        `-UserData:GPSCoordinates=${position}`,
        "-UserData:Make=Apple",
        "-UserData:Model=iPhone 15 Pro",
        file,
      ]);
    }
    return await readFile(file);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/** 8000×6000 pixels in one gray H.264 frame: over every owner type's 40 MP limit, made in a few seconds. */
export async function oversizedVideo(): Promise<Buffer> {
  const directory = await mkdtemp(join(tmpdir(), "fitkit-video-fixture-"));
  try {
    const file = join(directory, "oversized.mp4");
    const frame = ["-f", "lavfi", "-i", "color=c=gray:size=8000x6000:rate=1:duration=1"];
    await run(FFMPEG, ["-hide_banner", "-v", "error", ...frame, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-y", file]);
    return await readFile(file);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/** ffprobe's JSON of a file (streams and format). */
export async function probeJson(file: string): Promise<{
  streams: Record<string, unknown>[];
  format: Record<string, unknown> & { tags?: Record<string, string> };
}> {
  const { stdout } = await run(FFPROBE, ["-v", "error", "-show_streams", "-show_format", "-of", "json", file], { maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout);
}

/** Every tag exiftool reads in a file, as `Group:Name` → value (`-a -G1`: duplicates and groups kept). */
export async function exifTags(file: string): Promise<Record<string, string>> {
  const { stdout } = await run(EXIFTOOL, ["-j", "-a", "-G1", "-api", "LargeFileSupport=1", file], { maxBuffer: 16 * 1024 * 1024 });
  const [tags] = JSON.parse(stdout) as [Record<string, unknown>];
  return Object.fromEntries(Object.entries(tags).map(([name, value]) => [name, String(value)]));
}

/** The top-level boxes of an MP4/QuickTime file, in order (`moov` before `mdat` plays while downloading). */
export function topLevelBoxes(bytes: Buffer): string[] {
  const boxes: string[] = [];
  for (let offset = 0; offset + 8 <= bytes.length; ) {
    let size = bytes.readUInt32BE(offset);
    const type = bytes.toString("latin1", offset + 4, offset + 8);
    if (size === 1) size = Number(bytes.readBigUInt64BE(offset + 8));
    if (size === 0) size = bytes.length - offset;
    if (size < 8) break;
    boxes.push(type);
    offset += size;
  }
  return boxes;
}
