/**
 * Cold starts: each handler is bundled on its own, and the handlers that only sign (signed-urls,
 * upload-parts) carry no S3 client — checked in the real esbuild output, not assumed. consume
 * carries no AWS SDK client at all: storage, the scanner and the media queue go through the lean
 * signed clients (core/src/adapters/aws/aws-http.ts). presign
 * begins multipart uploads, so it has the S3 client, but in a chunk loaded by the first multipart
 * request, not at its cold start. Every request-path handler stays within its byte budget.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BuiltHandler, buildHandlers, COLD_START_BUDGETS, HANDLERS, INSTALLED_PACKAGES, SPLIT_HANDLERS } from "../scripts/build.js";
import { FUNCTIONS } from "../stacks/functions.js";
import { linkInstalledPackages } from "./support/installed-packages.js";

let outdir: string;
let built: BuiltHandler[];
beforeAll(async () => {
  outdir = await mkdtemp(join(tmpdir(), "fitkit-bundles-"));
  built = await buildHandlers({ outdir });
}, 120_000);
afterAll(() => rm(outdir, { recursive: true, force: true }));

const handler = (name: string) => built.find((b) => b.name === name)!;
const source = (name: string) => readFile(handler(name).file, "utf8");
/** Everything a cold start of `name` loads: index.mjs and the chunks it imports statically. */
const coldSource = async (name: string) => (await Promise.all(handler(name).coldFiles.map((file) => readFile(file, "utf8")))).join("\n");
const lazySource = async (name: string) => (await Promise.all(handler(name).lazyFiles.map((file) => readFile(file, "utf8")))).join("\n");

describe("handler bundles", () => {
  it("builds one bundle per handler file", () => {
    expect(built.map((b) => b.name)).toEqual(HANDLERS);
    expect(HANDLERS).toEqual(
      expect.arrayContaining([
        "presign",
        "signed-urls",
        "public-signature-put",
        "consume",
        "release",
        "issue-signature-token",
        "usage",
        "set-quota",
        "sweeper",
        "orphan-audit",
        "health",
      ]),
    );
  });

  it.each(["signed-urls", "upload-parts"])("%s signs without the S3 client or the SDK presigner", async (name) => {
    const code = await source(name);
    expect(code).not.toContain("S3Client");
    expect(code).not.toContain("getSignedUrl");
    expect(code).not.toContain("PutObjectCommand");
  });

  it("presign signs without the SDK presigner, and loads the S3 client only for a multipart upload (a chunk its cold start does not import)", async () => {
    expect(SPLIT_HANDLERS).toEqual(["presign"]);
    expect(await coldSource("presign")).not.toContain("S3Client");
    expect(await coldSource("presign")).not.toContain("getSignedUrl");
    expect(await lazySource("presign")).toContain("CreateMultipartUploadCommand");
  });

  it("every request-path handler has a byte budget for its cold start, and stays within it", () => {
    const routed = Object.values(FUNCTIONS).flatMap((spec) => ("route" in spec && spec.route ? [spec.handler.replace(/^functions\/|\.handler$/g, "")] : []));
    expect(Object.keys(COLD_START_BUDGETS).sort()).toEqual([...routed, "consume"].sort());

    const over = Object.entries(COLD_START_BUDGETS).flatMap(([name, budget]) =>
      handler(name).bytes > budget ? [{ name, bytes: handler(name).bytes, budget }] : [],
    );

    expect(over).toEqual([]);
  });

  it("consume carries no AWS SDK client (S3, Lambda or SQS): its calls go through the lean signed clients", async () => {
    const code = await coldSource("consume");
    expect({ s3Client: code.includes("S3Client"), sdkUserAgent: code.includes("aws-sdk-js") }).toEqual({ s3Client: false, sdkUserAgent: false });
  });

  it("the storage handlers do carry the SDK's S3 client (the checks above can fail)", async () => {
    const code = await source("sweeper");
    expect({ s3Client: code.includes("S3Client"), sdkUserAgent: code.includes("aws-sdk-js") }).toEqual({ s3Client: true, sdkUserAgent: true });
  });

  it("only process-media and publish load image codecs (HEIC's only in process-media), with sharp left to SST's install; consume, the sweeper, release and unpublish carry none", async () => {
    expect(INSTALLED_PACKAGES).toEqual({ "process-media": ["sharp"], publish: ["sharp"] });
    for (const name of ["process-media", "publish"]) {
      const code = await source(name);
      expect(code).toMatch(/from\s*"sharp"/);
      expect(code).not.toContain("sharp.pixelplumbing");
    }
    expect(await source("process-media")).toContain("libheif");
    // publish renders sharp-decodable display copies only: no HEIC decoder in its bundle.
    expect(await source("publish")).not.toContain("libheif");
    for (const name of HANDLERS.filter((h) => h !== "process-media" && h !== "publish")) {
      const code = await source(name);
      expect({ name, sharp: /from\s*"sharp"|sharp\.pixelplumbing/.test(code), libheif: code.includes("libheif") }).toEqual({
        name,
        sharp: false,
        libheif: false,
      });
    }
  });

  it("no bundle carries or installs an ffmpeg build: process-media runs the system's ffmpeg (its image's Debian package), found on PATH", async () => {
    const spawners = [];
    for (const name of HANDLERS) if ((await source(name)).includes("ffprobe")) spawners.push(name);
    expect(spawners).toEqual(["process-media"]);
    for (const name of HANDLERS) expect({ name, packaged: (await source(name)).includes("@ffmpeg-installer") }).toEqual({ name, packaged: false });
  });

  it("every bundle starts in a fresh Node with only its installed packages beside it, as on Lambda", async () => {
    await linkInstalledPackages(outdir);
    const start = (file: string) =>
      new Promise<string>((done) =>
        execFile(process.execPath, [file], { cwd: outdir, env: { PATH: process.env.PATH } }, (error, _out, stderr) =>
          done(error ? (stderr.split("\n").find((l) => /Error/.test(l)) ?? String(error)) : "started"),
        ),
      );

    const results = await Promise.all(built.map(async (b) => [b.name, await start(b.file)] as const));

    expect(Object.fromEntries(results)).toEqual(Object.fromEntries(built.map((b) => [b.name, "started"])));
  }, 120_000);
});
