import { stat } from "node:fs/promises";
import { renderVideo } from "@fitkit/core/media/video-pipeline";
import { videoCodec } from "/work/main/functions/lib/deps/ffmpeg.js";
import { imageCodec } from "/work/main/functions/lib/deps/image-codec.js";
const codec = videoCodec() as any;
for (const m of ["probe", "transcodePlayback", "remuxOriginal", "extractFrame"]) {
  const f = codec[m].bind(codec);
  codec[m] = async (...a: any[]) => { const t = performance.now(); try { return await f(...a); } finally { console.log(m, (performance.now() - t).toFixed(0), "ms"); } };
}
const [file, ct] = process.argv.slice(2);
const t = performance.now();
await renderVideo(codec, { imageCodec: imageCodec(), input: { file: file!, contentType: ct! }, ownerType: "exercise_comment", files: { playback: "/tmp/vb/p.mp4", original: "/tmp/vb/o.mov" }, inputBytes: (await stat(file!)).size, bounds: { baseMs: 3_600_000, transcodeMsPerSecond: 60_000, copyMs: 3_600_000 } });
console.log("total", (performance.now() - t).toFixed(0));
