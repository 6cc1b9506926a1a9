/**
 * Cold starts: each handler is bundled on its own, and the handlers that only sign (presign,
 * signed-get) carry no S3 client — checked in the real esbuild output, not assumed.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BuiltHandler, buildHandlers, HANDLERS, INSTALLED_PACKAGES } from "../scripts/build.js";

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

  it.each(["presign", "signed-get"])("%s signs without the S3 client or the SDK presigner", async (name) => {
    const code = await source(name);
    expect(code).not.toContain("S3Client");
    expect(code).not.toContain("getSignedUrl");
    expect(code).not.toContain("PutObjectCommand");
  });

  it("the storage handlers do carry the S3 client (the check above can fail)", async () => {
    expect(await source("consume")).toContain("S3Client");
  });

  it("only process-media loads the image pipeline, with sharp left to SST's install; consume and the sweeper hand jobs over without it", async () => {
    expect(INSTALLED_PACKAGES).toEqual({ "process-media": ["sharp"] });
    const worker = await source("process-media");
    expect(worker).toMatch(/from\s*"sharp"/);
    expect(worker).toContain("libheif");
    expect(worker).not.toContain("sharp.pixelplumbing");
    for (const name of HANDLERS.filter((h) => h !== "process-media")) {
      const code = await source(name);
      expect({ name, sharp: /from\s*"sharp"|sharp\.pixelplumbing/.test(code), libheif: code.includes("libheif") }).toEqual({
        name,
        sharp: false,
        libheif: false,
      });
    }
  });
});
