/**
 * Real, small videos made by the packaged ffmpeg (the same binary process-media runs): a test
 * pattern encoded with H.264 in MP4, or VP8 in WebM; no binary fixtures in the repo.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The packaged ffmpeg binary (`@ffmpeg-installer/ffmpeg` answers the one installed for this platform). */
export const packagedFfmpeg = (): string => (createRequire(import.meta.url)("@ffmpeg-installer/ffmpeg") as { path: string }).path;

export interface VideoSpec {
  width: number;
  height: number;
  seconds: number;
  format?: "mp4" | "webm";
  /** Degrees a player turns the picture (the container's display matrix), MP4 only. */
  rotate?: 90 | 180 | 270;
}

/** A test-pattern video with no audio; moov at the end, as cameras write it. */
export async function testVideo(spec: VideoSpec): Promise<Buffer> {
  const format = spec.format ?? "mp4";
  const directory = await mkdtemp(join(tmpdir(), "fitkit-video-fixture-"));
  try {
    const encoded = join(directory, `encoded.${format}`);
    const codec =
      format === "mp4" ? ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"] : ["-c:v", "libvpx", "-deadline", "realtime", "-b:v", "300k"];
    const source = `testsrc=size=${spec.width}x${spec.height}:rate=25:duration=${spec.seconds}`;
    await run(packagedFfmpeg(), ["-hide_banner", "-v", "error", "-f", "lavfi", "-i", source, ...codec, "-y", encoded]);
    if (!spec.rotate) return await readFile(encoded);
    // ffmpeg 4 writes the `rotate` tag as the track's display matrix when remuxing.
    const rotated = join(directory, `rotated.${format}`);
    await run(packagedFfmpeg(), ["-hide_banner", "-v", "error", "-i", encoded, "-c", "copy", "-metadata:s:v:0", `rotate=${spec.rotate}`, "-y", rotated]);
    return await readFile(rotated);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
