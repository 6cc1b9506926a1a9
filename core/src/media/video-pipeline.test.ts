import { describe, expect, it } from "vitest";
import type { ImageCodec } from "./image-codec.js";
import type { PlaybackRequest, VideoCodec, VideoFacts, VideoInput } from "./video-codec.js";
import { renderVideo, VideoRejectedError } from "./video-pipeline.js";

const FACTS: VideoFacts = { codedWidth: 1920, codedHeight: 1080, rotation: 0, maxPixels: 1920 * 1080, durationMs: 20_000, hasAudio: true };
const INPUT: VideoInput = { file: "/tmp/in.mov", contentType: "video/quicktime" };
const FILES = { playback: "/tmp/out/playback.mp4", original: "/tmp/out/original.mov" };

/** A codec whose transcode and copy each settle when the test says; it records what ran and when. */
function scriptedCodec() {
  const events: string[] = [];
  const settle: { transcode?: (error?: Error) => void; copy?: (error?: Error) => void } = {};
  const pending = (name: "transcode" | "copy") =>
    new Promise<void>((resolve, reject) => {
      events.push(`${name} started`);
      settle[name] = (error) => {
        events.push(`${name} ${error ? "failed" : "done"}`);
        if (error) reject(error);
        else resolve();
      };
    });
  const codec: VideoCodec = {
    probe: async () => FACTS,
    transcodePlayback: (_input: VideoInput, _request: PlaybackRequest) => pending("transcode"),
    remuxOriginal: () => pending("copy"),
    extractFrame: async () => null,
  };
  return { codec, events, settle };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));
const NO_IMAGES = {} as ImageCodec;

describe("renderVideo", () => {
  it("runs the stream copy beside the transcode, not after it", async () => {
    const { codec, events, settle } = scriptedCodec();
    const rendered = renderVideo(codec, { input: INPUT, ownerType: "exercise_comment", files: FILES, inputBytes: 1000, imageCodec: NO_IMAGES });
    await tick();
    expect(events).toEqual(["transcode started", "copy started"]);
    settle.copy!();
    settle.transcode!();
    // No frame at the poster's time nor at 0: the video has no decodable frame.
    await expect(rendered).rejects.toMatchObject({ code: "VIDEO_UNREADABLE", message: "no decodable video frame" });
  });

  it("a failed transcode is thrown only once the copy has ended too: no child outlives the call", async () => {
    const { codec, events, settle } = scriptedCodec();
    let ended = false;
    const rendered = renderVideo(codec, { input: INPUT, ownerType: "exercise_comment", files: FILES, inputBytes: 1000, imageCodec: NO_IMAGES }).finally(
      () => (ended = true),
    );
    await tick();
    settle.transcode!(new VideoRejectedError("VIDEO_UNREADABLE", "the transcode outran its time bound"));
    await tick();
    expect(ended).toBe(false);
    settle.copy!();
    await expect(rendered).rejects.toMatchObject({ code: "VIDEO_UNREADABLE", message: "the transcode outran its time bound" });
    expect(events).toEqual(["transcode started", "copy started", "transcode failed", "copy done"]);
  });

  it("a failed copy fails the render after a successful transcode", async () => {
    const { codec, settle } = scriptedCodec();
    const rendered = renderVideo(codec, { input: INPUT, ownerType: "exercise_comment", files: FILES, inputBytes: 1000, imageCodec: NO_IMAGES });
    await tick();
    settle.transcode!();
    settle.copy!(new VideoRejectedError("VIDEO_TOO_LARGE", "the copy outgrew its size bound"));
    await expect(rendered).rejects.toMatchObject({ code: "VIDEO_TOO_LARGE" });
  });
});
