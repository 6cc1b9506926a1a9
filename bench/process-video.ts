/**
 * Child process of the video bench: renders one video as process-media does (the ffmpeg codec
 * with the worker's settings from functions/lib/deps/ffmpeg.ts, sharp for the poster) and prints
 * the time and the sizes of what it wrote as JSON. The parent samples this process's tree (Node
 * and its ffmpeg children) for the worker's peak RSS.
 */
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderVideo } from "@fitkit/core/media/video-pipeline";
import sharp from "sharp";
import { videoCodec } from "../functions/lib/deps/ffmpeg.js";
import { imageCodec } from "../functions/lib/deps/image-codec.js";

const [file, contentType] = process.argv.slice(2);

/** CPU seconds of this process and of its waited-for children (ffmpeg): utime, stime, cutime, cstime of /proc/self/stat, in ticks of 1/100 s. */
async function cpuSeconds(): Promise<number> {
  const fields = (await readFile("/proc/self/stat", "utf8")).split(") ")[1]!.split(" ");
  return fields.slice(11, 15).reduce((sum, ticks) => sum + Number(ticks), 0) / 100;
}

const directory = await mkdtemp(join(tmpdir(), "fitkit-bench-video-"));
try {
  const files = { playback: join(directory, "playback.mp4"), original: join(directory, "original") };
  // Measured around the render only: loading Node, tsx and sharp is not the worker's per-video cost.
  const cpuBefore = await cpuSeconds();
  const start = performance.now();
  const rendered = await renderVideo(videoCodec(), {
    imageCodec: imageCodec(),
    input: { file: file!, contentType: contentType! },
    ownerType: "exercise_comment",
    files,
    inputBytes: (await stat(file!)).size,
    // The bench measures how long it takes: on a shared machine it may outrun the worker's bounds.
    bounds: { baseMs: 3_600_000, transcodeMsPerSecond: 60_000, copyMs: 3_600_000 },
  });
  const ms = performance.now() - start;
  const cpu = (await cpuSeconds()) - cpuBefore;
  const bytes = { playback: (await stat(files.playback)).size, original: (await stat(files.original)).size, poster: rendered.poster.bytes.length };
  const facts = {
    width: rendered.width,
    height: rendered.height,
    durationMs: rendered.durationMs,
    playback: [rendered.playback.width, rendered.playback.height],
  };
  process.stdout.write(`${JSON.stringify({ ms, cpuSeconds: cpu, bytes, facts, sharpConcurrency: sharp.concurrency() })}\n`);
} finally {
  await rm(directory, { recursive: true, force: true });
}
