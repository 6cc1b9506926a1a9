/**
 * The `video` section of `npm run bench`: what process-media's video work costs on this machine,
 * on clips made by Debian's ffmpeg as the tests make theirs (support/video.ts) — a phone-like
 * 1080p HEVC `.mov` at 10 Mbit/s with location metadata, a 4K H.264 one and a portrait one, all
 * with sound and a small sensor's noise (the worst case), plus the phone and portrait clips with a
 * phone's denoised daylight picture. Each clip is rendered in its own process
 * (bench/process-video.ts) with the worker's settings; this process samples that process's tree
 * (Node plus its ffmpeg children, summed) every 50 ms for the worker's peak RSS.
 *
 * Baseline in the same run: the clip's own duration (processing time per minute of source is the
 * ratio ×60), and the original's bytes for the playback rendition's.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { FFMPEG_PRESET, VIDEO_THREADS, X264_PARAMS } from "../functions/lib/deps/ffmpeg.js";
import { DAYLIGHT_NOISE, SENSOR_NOISE, testVideo, type VideoSpec } from "../support/video.js";

const here = dirname(fileURLToPath(import.meta.url));
const round = (value: number, digits = 2) => Number(value.toFixed(digits));

/** The goals: a 1080p minute in ≤ 30 s on 2 cores; playback ≤ 25 % of an 8 Mbit/s+ phone original. */
export const VIDEO_GOALS = { secondsPer1080pMinuteAtMost: 30, playbackOverOriginalAtMost: 0.25 };

export function videoPlan(quick: boolean) {
  const seconds = quick ? 6 : 20;
  const phone = { width: 1920, height: 1080, seconds, format: "mov", codec: "hevc", audio: true, phoneMetadata: true, frameRate: 30 } as const;
  const clips: Record<string, { spec: VideoSpec; contentType: string }> = {
    // The worst case a phone records (a small sensor in poor light): the time goal is judged on it.
    phone1080pHevc: { spec: { ...phone, bitrateKbps: 10_000, noise: SENSOR_NOISE }, contentType: "video/quicktime" },
    // The same phone in daylight, its picture denoised as phones do: what most form videos are.
    phone1080pHevcDaylight: { spec: { ...phone, bitrateKbps: 10_000, noise: DAYLIGHT_NOISE }, contentType: "video/quicktime" },
    uhd4kH264: {
      spec: { width: 3840, height: 2160, seconds, audio: true, frameRate: 30, bitrateKbps: 40_000, noise: SENSOR_NOISE },
      contentType: "video/mp4",
    },
    portrait1080p: {
      spec: { width: 1920, height: 1080, seconds, audio: true, frameRate: 30, rotate: 90, bitrateKbps: 8_000, noise: SENSOR_NOISE },
      contentType: "video/mp4",
    },
    portrait1080pDaylight: {
      spec: { width: 1920, height: 1080, seconds, audio: true, frameRate: 30, rotate: 90, bitrateKbps: 8_000, noise: DAYLIGHT_NOISE },
      contentType: "video/mp4",
    },
  };
  return { quick, seconds, clips };
}

/** Resident memory of `pid` and all its descendants, MiB: a walk down /proc/<pid>/task/<tid>/children (cheap enough to sample often). */
async function treeRssMiB(pid: number): Promise<number> {
  let kib = 0;
  const pending = [pid];
  while (pending.length > 0) {
    const current = pending.pop()!;
    try {
      const status = await readFile(`/proc/${current}/status`, "utf8");
      kib += Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      for (const task of await readdir(`/proc/${current}/task`)) {
        const children = await readFile(`/proc/${current}/task/${task}/children`, "utf8");
        for (const child of children.trim().split(/\s+/)) if (child) pending.push(Number(child));
      }
    } catch {
      // exited meanwhile
    }
  }
  return kib / 1024;
}

async function renderInChild(file: string, contentType: string) {
  const child = spawn(process.execPath, ["--import", "tsx", join(here, "process-video.ts"), file, contentType], { stdio: ["ignore", "pipe", "inherit"] });
  let peakMiB = 0;
  const sampler = setInterval(() => {
    if (child.pid) void treeRssMiB(child.pid).then((mib) => (peakMiB = Math.max(peakMiB, mib)));
  }, 50);
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  const exitCode = await new Promise<number | null>((resolve) => child.on("close", resolve));
  clearInterval(sampler);
  if (exitCode !== 0) throw new Error(`process-video exited ${exitCode}`);
  return {
    ...(JSON.parse(output.trim().split("\n").at(-1)!) as {
      ms: number;
      cpuSeconds: number;
      bytes: Record<string, number>;
      facts: object;
      sharpConcurrency: number;
    }),
    peakMiB,
  };
}

export async function benchVideo(options: { quick: boolean }) {
  const plan = videoPlan(options.quick);
  const dir = await mkdtemp(join(tmpdir(), "fitkit-bench-video-"));
  try {
    const clips: Record<string, unknown> = {};
    let sharpConcurrency = 0;
    for (const [name, { spec, contentType }] of Object.entries(plan.clips)) {
      console.error(`video: making ${name} (${spec.width}×${spec.height}, ${spec.seconds} s)…`);
      const file = join(dir, `${name}.${spec.format ?? "mp4"}`);
      const bytes = await testVideo(spec);
      await writeFile(file, bytes);
      console.error(`video: processing ${name}…`);
      const run = await renderInChild(file, contentType);
      sharpConcurrency = run.sharpConcurrency;
      clips[name] = {
        sourceSeconds: spec.seconds,
        sourceBytes: bytes.length,
        sourceMbps: round((bytes.length * 8) / spec.seconds / 1e6, 1),
        processingMs: round(run.ms, 0),
        secondsPerSourceMinute: round((run.ms / 1000) * (60 / spec.seconds), 1),
        // What the same work costs in CPU (Node and ffmpeg): on an idle 2-core machine, wall time is about half of it.
        cpuSecondsPerSourceMinute: round(run.cpuSeconds * (60 / spec.seconds), 1),
        loadAverage: round(loadavg()[0]!, 1),
        playbackBytes: run.bytes.playback,
        playbackOverOriginal: round(run.bytes.playback! / bytes.length, 3),
        originalCopyBytes: run.bytes.original,
        posterBytes: run.bytes.poster,
        facts: run.facts,
        workerPeakRssMiB: round(run.peakMiB, 0),
      };
    }
    return {
      quick: options.quick,
      date: new Date().toISOString(),
      settings: { ffmpegThreads: VIDEO_THREADS, x264Preset: FFMPEG_PRESET, x264Params: X264_PARAMS, sharpConcurrency },
      goals: VIDEO_GOALS,
      clips,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

type Clip = {
  /** As displayed (the container's rotation applied). */
  facts: { width: number; height: number };
  cpuSecondsPerSourceMinute: number;
  loadAverage: number;
  secondsPerSourceMinute: number;
  playbackOverOriginal: number;
  sourceMbps: number;
  workerPeakRssMiB: number;
  playbackBytes: number;
  sourceBytes: number;
};

export function videoRows(result: Awaited<ReturnType<typeof benchVideo>>): [string, string][] {
  const clips = result.clips as Record<string, Clip>;
  const s = result.settings;
  const rows: [string, string][] = [
    [`video: ffmpeg threads ${s.ffmpegThreads}, x264 preset ${s.x264Preset} (${s.x264Params}), sharp concurrency ${s.sharpConcurrency}`, ""],
  ];
  const verdict = (met: boolean) => (met ? "met" : "NOT met");
  for (const [name, clip] of Object.entries(clips)) {
    const is1080p = Math.max(clip.facts.width, clip.facts.height) === 1920;
    const timeGoal = is1080p ? ` → ${verdict(clip.secondsPerSourceMinute <= VIDEO_GOALS.secondsPer1080pMinuteAtMost)}` : "";
    const bytesGoal = clip.sourceMbps >= 8 ? ` → ${verdict(clip.playbackOverOriginal <= VIDEO_GOALS.playbackOverOriginalAtMost)}` : "";
    rows.push([
      `video ${name}: s per minute of source (1080p goal ≤ ${VIDEO_GOALS.secondsPer1080pMinuteAtMost}) · CPU s · load average`,
      `${clip.secondsPerSourceMinute} · ${clip.cpuSecondsPerSourceMinute} · ${clip.loadAverage}${timeGoal}`,
    ]);
    rows.push([
      `video ${name}: playback / original bytes (goal ≤ ${VIDEO_GOALS.playbackOverOriginalAtMost} at ≥ 8 Mbit/s)`,
      `${clip.playbackBytes} / ${clip.sourceBytes} (${clip.sourceMbps} Mbit/s) → ${clip.playbackOverOriginal}${bytesGoal}`,
    ]);
    rows.push([`video ${name}: worker peak RSS (Node + ffmpeg), MiB`, `${clip.workerPeakRssMiB}`]);
  }
  return rows;
}
