/**
 * The ffmpeg video codec on the real tools (Debian's ffmpeg and ffprobe, util-linux's prlimit):
 * facts from ffprobe's JSON that a file cannot write into, children that get no environment and
 * run under kernel limits, the demuxer forced from the sniffed type, and the two copies a reader
 * may get — the playback rendition and the metadata-free original — checked with ffprobe and exiftool.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { runBoundedChild } from "@fitkit/core/adapters/child-process/bounded-child";
import { FfmpegVideoCodec, parseProbeJson } from "@fitkit/core/adapters/ffmpeg/ffmpeg-video-codec";
import { playbackSize, posterTimeSeconds, renderVideo } from "@fitkit/core/media/video-pipeline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findOnPath } from "../functions/lib/deps/ffmpeg.js";
import { exifTags, FFMPEG, probeJson, testVideo, topLevelBoxes } from "../support/video.js";
import { imageCodecs } from "./support/image-codecs.js";

const run = promisify(execFile);
const MiB = 1024 * 1024;
const tools = { ffmpegPath: findOnPath("ffmpeg")!, ffprobePath: findOnPath("ffprobe")!, prlimitPath: findOnPath("prlimit")! };
const codec = new FfmpegVideoCodec(tools);
/** What a reader must never find in a copy: where, on what and when it was recorded. */
const PRIVATE_TAG = /gps|location|make|model|creationdate|software|author|title/i;

let directory: string;
const file = (name: string) => join(directory, name);

/**
 * 8000×6000 (48 MP, over the 40 MP limit) with two lines written into ffmpeg's log through its
 * metadata: a title `Duration: 99:59:59.00`, and a key whose newline starts a fake stream line.
 */
async function loggedLiesVideo(): Promise<string> {
  const path = file("lies.mp4");
  await run(
    FFMPEG,
    [
      ["-hide_banner", "-v", "error", "-f", "lavfi", "-i", "color=c=gray:size=8000x6000:rate=1:duration=1"],
      ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "use_metadata_tags"],
      ["-metadata", "x\n    Stream #0:9: Video: h264, 64x64=y", "-metadata", "title=Duration: 99:59:59.00", "-y", path],
    ].flat(),
  );
  return path;
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "fitkit-codec-"));
  await Promise.all([
    testVideo({ width: 1920, height: 1080, seconds: 2, format: "mov", codec: "hevc", audio: true, phoneMetadata: true, frameRate: 30 }).then((b) =>
      writeFile(file("phone.mov"), b),
    ),
    testVideo({ width: 640, height: 360, seconds: 2, rotate: 90 }).then((b) => writeFile(file("portrait.mp4"), b)),
    testVideo({ width: 320, height: 240, seconds: 2, frameRate: 120 }).then((b) => writeFile(file("fast.mp4"), b)),
    testVideo({ width: 320, height: 240, seconds: 2, format: "webm", audio: true }).then((b) => writeFile(file("clip.webm"), b)),
  ]);
}, 120_000);
afterAll(() => rm(directory, { recursive: true, force: true }));

describe("the facts come from ffprobe's JSON, never from the log", () => {
  it("a title `Duration: 99:59:59.00` and a key that writes a fake `Stream … 64x64` line: the 8000×6000 video is seen as it is", async () => {
    const path = await loggedLiesVideo();
    // The attack is real: ffmpeg's log, as the previous parser read it, carries both lies before the truth.
    const { stderr } = await run(FFMPEG, ["-hide_banner", "-f", "mov", "-i", path]).catch((e: { stderr: string }) => e);
    expect(stderr.indexOf("Stream #0:9: Video: h264, 64x64")).toBeLessThan(stderr.indexOf("8000x6000"));
    expect(stderr.indexOf("Duration: 99:59:59.00")).toBeLessThan(stderr.indexOf("Duration: 00:00:01.00"));

    const facts = await codec.probe({ file: path, contentType: "video/mp4" });

    expect(facts).toEqual({ codedWidth: 8000, codedHeight: 6000, rotation: 0, maxPixels: 48_000_000, durationMs: 1000, hasAudio: false });
    await expect(
      renderVideo(codec, {
        imageCodec: imageCodecs.codec,
        input: { file: path, contentType: "video/mp4" },
        ownerType: "exercise_comment",
        files: { playback: file("lies-playback.mp4"), original: file("lies-original.mp4") },
        inputBytes: 1,
      }),
    ).rejects.toMatchObject({ name: "VideoRejectedError", code: "VIDEO_TOO_LARGE" });
  }, 60_000);

  it("reads the display matrix as quarter turns, every video stream's pixels, and no duration when none is stated", () => {
    const json = (extra: object) =>
      JSON.stringify({
        streams: [
          { codec_type: "video", width: 1920, height: 1080, side_data_list: [{ side_data_type: "Display Matrix", rotation: -90 }] },
          { codec_type: "audio" },
          { codec_type: "video", width: 7680, height: 4320 },
          { codec_type: "video", width: 9000, height: 9000, disposition: { attached_pic: 1 } },
        ],
        format: { tags: { title: "Duration: 99:59:59.00" }, ...extra },
      });
    expect(parseProbeJson(json({ duration: "62.500000" }))).toEqual({
      codedWidth: 1920,
      codedHeight: 1080,
      rotation: 270,
      maxPixels: 7680 * 4320,
      durationMs: 62_500,
      hasAudio: true,
    });
    expect(parseProbeJson(json({ duration: "N/A" }))?.durationMs).toBeNull();
    expect(parseProbeJson(JSON.stringify({ streams: [{ codec_type: "audio" }], format: {} }))).toBeNull();
    expect(parseProbeJson("not json")).toBeNull();
  });

  it("takes the poster at 1 s, halfway through a clip under 2 s, and at 1 s when the duration is unknown", () => {
    expect([posterTimeSeconds(3000), posterTimeSeconds(2000), posterTimeSeconds(200), posterTimeSeconds(null)]).toEqual([1, 1, 0.1, 1]);
  });
});

describe("ffmpeg and ffprobe are bounded children", () => {
  const limits = { timeoutMs: 20_000, maxStdoutBytes: MiB, maxMemoryBytes: 1024 * MiB, maxFileBytes: 5 * MiB };
  /** What the child itself sees in /proc/self/<name>, read by ffmpeg's `data` demuxer and copied to stdout. */
  const childSees = async (name: string) => {
    const child = await runBoundedChild({
      command: tools.ffmpegPath,
      args: ["-v", "error", "-f", "data", "-i", `/proc/self/${name}`, "-map", "0", "-c", "copy", "-f", "data", "pipe:1"],
      prlimitPath: tools.prlimitPath,
      limits,
    });
    expect(child.exitCode).toBe(0);
    return child.stdout.toString("latin1");
  };

  it("with an empty environment: no storage or Redis token reaches ffmpeg", async () => {
    process.env.FITKIT_TEST_SECRET = "r2-secret";
    try {
      expect(await childSees("environ")).toBe("");
    } finally {
      delete process.env.FITKIT_TEST_SECRET;
    }
  });

  it("without prlimit (a machine lacking util-linux) the child still gets an empty environment", async () => {
    process.env.FITKIT_TEST_SECRET = "r2-secret";
    try {
      const child = await runBoundedChild({
        command: tools.ffmpegPath,
        args: ["-v", "error", "-f", "data", "-i", "/proc/self/environ", "-map", "0", "-c", "copy", "-f", "data", "pipe:1"],
        prlimitPath: null,
        limits,
      });
      expect({ exitCode: child.exitCode, environment: child.stdout.toString("latin1") }).toEqual({ exitCode: 0, environment: "" });
    } finally {
      delete process.env.FITKIT_TEST_SECRET;
    }
  });

  it("under the kernel's limits: address space, written file size, CPU time, no core dump", async () => {
    const table = await childSees("limits");
    const limit = (name: string) =>
      table
        .split("\n")
        .find((line) => line.startsWith(name))
        ?.split(/\s{2,}/)[1];
    expect({
      memory: limit("Max address space"),
      fileSize: limit("Max file size"),
      cpu: limit("Max cpu time"),
      core: limit("Max core file size"),
    }).toEqual({ memory: String(1024 * MiB), fileSize: String(5 * MiB), cpu: "80", core: "0" });
  });

  it("a run is killed once its time is up, and one whose output passes the cap keeps no more than the cap", async () => {
    const started = performance.now();
    const slow = await runBoundedChild({
      command: tools.ffmpegPath,
      args: ["-f", "lavfi", "-i", "testsrc=size=1920x1080:duration=600", "-f", "null", "-"],
      prlimitPath: tools.prlimitPath,
      limits: { ...limits, timeoutMs: 300 },
    });
    expect({ timedOut: slow.timedOut, signal: slow.signal }).toEqual({ timedOut: true, signal: "SIGKILL" });
    expect(performance.now() - started).toBeLessThan(10_000);

    const chatty = await runBoundedChild({
      command: tools.ffmpegPath,
      args: ["-f", "lavfi", "-i", "testsrc=size=640x480:duration=600", "-f", "rawvideo", "pipe:1"],
      prlimitPath: tools.prlimitPath,
      limits,
    });
    expect({ overflowed: chatty.overflowed, timedOut: chatty.timedOut }).toEqual({ overflowed: true, timedOut: false });
    expect(chatty.stdout.length).toBeLessThanOrEqual(MiB);
  });

  it("a concat list posing as an MP4 is not followed: the demuxer comes from the type, never from the content", async () => {
    const list = file("upload");
    await writeFile(list, `ffconcat version 1.0\nfile '${file("phone.mov")}'\n`);
    // Left to guess, ffprobe reads the list and describes the other file: what forcing the demuxer prevents.
    const guessed = await run(tools.ffprobePath, ["-v", "error", "-safe", "0", "-show_streams", "-of", "json", list]);
    expect(parseProbeJson(guessed.stdout)).toMatchObject({ codedWidth: 1920, codedHeight: 1080 });

    await expect(codec.probe({ file: list, contentType: "video/mp4" })).rejects.toMatchObject({ name: "VideoRejectedError", code: "VIDEO_UNREADABLE" });
  });

  it("a transcode that outruns its time bound is VIDEO_UNREADABLE (a final failure), not a worker timeout", async () => {
    await expect(
      codec.transcodePlayback(
        { file: file("phone.mov"), contentType: "video/quicktime" },
        { output: file("slow.mp4"), width: 1280, height: 720, maxFrameRate: 60, maxVideoKbps: 2500, maxDurationSeconds: 300, timeoutMs: 50 },
      ),
    ).rejects.toMatchObject({ name: "VideoRejectedError", code: "VIDEO_UNREADABLE", message: "the transcode outran its time bound" });
  });
});

describe("the copies a reader gets", () => {
  it("a phone's HEVC .mov with its location: playback is H.264 High/AAC-LC MP4, moov first, ≤ 1280 px, and neither copy carries location, make or model", async () => {
    const input = { file: file("phone.mov"), contentType: "video/quicktime" };
    const before = await exifTags(input.file);
    expect(Object.keys(before).filter((tag) => PRIVATE_TAG.test(tag))).toEqual(expect.arrayContaining(["Keys:GPSCoordinates", "Keys:Make", "UserData:Model"]));

    const rendered = await renderVideo(codec, {
      imageCodec: imageCodecs.codec,
      input,
      ownerType: "exercise_comment",
      files: { playback: file("phone-playback.mp4"), original: file("phone-original.mov") },
      inputBytes: (await readFile(input.file)).length,
    });

    expect({ width: rendered.width, height: rendered.height, durationMs: rendered.durationMs, playback: rendered.playback }).toEqual({
      width: 1920,
      height: 1080,
      durationMs: 2000,
      playback: { file: file("phone-playback.mp4"), width: 1280, height: 720 },
    });
    const playback = await probeJson(file("phone-playback.mp4"));
    expect(playback.streams.map((s) => [s.codec_type, s.codec_name, s.profile, s.pix_fmt ?? null, s.width ?? null, s.height ?? null])).toEqual([
      ["video", "h264", "High", "yuv420p", 1280, 720],
      ["audio", "aac", "LC", null, null, null],
    ]);
    expect(playback.format.format_name).toBe("mov,mp4,m4a,3gp,3g2,mj2");
    expect(topLevelBoxes(await readFile(file("phone-playback.mp4"))).slice(0, 2)).toEqual(["ftyp", "moov"]);
    expect(topLevelBoxes(await readFile(file("phone-original.mov"))).slice(0, 2)).toEqual(["ftyp", "moov"]);

    const original = await probeJson(file("phone-original.mov"));
    // The same streams, not re-encoded.
    expect(original.streams.map((s) => [s.codec_type, s.codec_name, s.width ?? null])).toEqual([
      ["video", "hevc", 1920],
      ["audio", "aac", null],
    ]);
    for (const copy of ["phone-playback.mp4", "phone-original.mov"]) {
      const tags = await exifTags(file(copy));
      expect(Object.entries(tags).filter(([tag]) => PRIVATE_TAG.test(tag) && !tag.startsWith("System:"))).toEqual([]);
      // ("Apple" alone is the muxer's own handler vendor, `appl`, not the phone's.)
      expect(Object.values(tags).join("\n")).not.toMatch(/iPhone|48 deg|17' 40/);
      expect(Object.values((await probeJson(file(copy))).format.tags ?? {})).not.toContain("iPhone 15 Pro");
    }
  }, 90_000);

  it("a portrait clip is turned in the rendition and keeps its display matrix in the original; a 120 fps clip plays at 60", async () => {
    const portrait = await renderVideo(codec, {
      imageCodec: imageCodecs.codec,
      input: { file: file("portrait.mp4"), contentType: "video/mp4" },
      ownerType: "exercise_comment",
      files: { playback: file("portrait-playback.mp4"), original: file("portrait-original.mp4") },
      inputBytes: (await readFile(file("portrait.mp4"))).length,
    });
    expect({ width: portrait.width, height: portrait.height, playback: portrait.playback.width }).toEqual({ width: 360, height: 640, playback: 360 });
    const [played] = (await probeJson(file("portrait-playback.mp4"))).streams;
    expect({ width: played?.width, height: played?.height, rotation: played?.side_data_list ?? null }).toEqual({ width: 360, height: 640, rotation: null });
    const [kept] = (await probeJson(file("portrait-original.mp4"))).streams;
    expect({ width: kept?.width, turned: (kept?.side_data_list as { rotation: number }[] | undefined)?.[0]?.rotation }).toEqual({ width: 640, turned: 90 });

    await codec.transcodePlayback(
      { file: file("fast.mp4"), contentType: "video/mp4" },
      {
        output: file("fast-playback.mp4"),
        ...playbackSize({ width: 320, height: 240 }),
        maxFrameRate: 60,
        maxVideoKbps: 500,
        maxDurationSeconds: 300,
        timeoutMs: 60_000,
      },
    );
    const [fast] = (await probeJson(file("fast-playback.mp4"))).streams;
    expect(fast?.avg_frame_rate).toBe("60/1");
    // Two seconds at 60 fps (the encoder may keep a frame at either end), not the 240 frames of the input.
    expect(Math.abs(Number(fast?.nb_frames) - 120)).toBeLessThanOrEqual(2);
  }, 90_000);

  it("a WebM's original is a WebM of the same streams; the rendition is still H.264/AAC MP4", async () => {
    await renderVideo(codec, {
      imageCodec: imageCodecs.codec,
      input: { file: file("clip.webm"), contentType: "video/webm" },
      ownerType: "exercise_comment",
      files: { playback: file("webm-playback.mp4"), original: file("webm-original.webm") },
      inputBytes: (await readFile(file("clip.webm"))).length,
    });
    const original = await probeJson(file("webm-original.webm"));
    expect({ format: original.format.format_name, codecs: original.streams.map((s) => s.codec_name) }).toEqual({
      format: "matroska,webm",
      codecs: ["vp8", "vorbis"],
    });
    expect((await probeJson(file("webm-playback.mp4"))).streams.map((s) => s.codec_name)).toEqual(["h264", "aac"]);
  }, 60_000);
});
