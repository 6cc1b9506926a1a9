/**
 * Cold starts: each handler is bundled on its own, and the handlers that only sign (signed-get,
 * upload-parts) carry no S3 client — checked in the real esbuild output, not assumed. presign
 * carries it since it begins multipart uploads, but still signs without the SDK presigner.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BuiltHandler, buildHandlers, HANDLERS } from "../scripts/build.js";

let outdir: string;
let built: BuiltHandler[];
beforeAll(async () => {
  outdir = await mkdtemp(join(tmpdir(), "fitkit-bundles-"));
  built = await buildHandlers({ outdir });
}, 120_000);
afterAll(() => rm(outdir, { recursive: true, force: true }));

const source = (name: string) => readFile(built.find((b) => b.name === name)!.file, "utf8");

describe("handler bundles", () => {
  it("builds one bundle per handler file", () => {
    expect(built.map((b) => b.name)).toEqual(HANDLERS);
    expect(HANDLERS).toEqual(
      expect.arrayContaining([
        "presign",
        "signed-get",
        "public-signature-put",
        "consume",
        "release",
        "issue-signature-token",
        "usage",
        "set-quota",
        "sweeper",
        "health",
      ]),
    );
  });

  it.each(["signed-get", "upload-parts"])("%s signs without the S3 client or the SDK presigner", async (name) => {
    const code = await source(name);
    expect(code).not.toContain("S3Client");
    expect(code).not.toContain("getSignedUrl");
    expect(code).not.toContain("PutObjectCommand");
  });

  it("presign signs without the SDK presigner", async () => {
    expect(await source("presign")).not.toContain("getSignedUrl");
  });

  it("the storage handlers do carry the S3 client (the check above can fail)", async () => {
    expect(await source("consume")).toContain("S3Client");
  });
});
