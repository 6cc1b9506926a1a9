/**
 * The ffmpeg binary process-media reads videos with: a static build shipped inside an npm package.
 * `@ffmpeg-installer/ffmpeg` lists one package per platform as optional dependencies and answers
 * the path of the one installed — `@ffmpeg-installer/linux-arm64` on Lambda (SST installs the
 * function's `install` packages for its platform, stacks/functions.ts), `linux-x64` here.
 * Loaded on the first video job, so images (and the cold start) never depend on it.
 */
import { accessSync, chmodSync, constants, copyFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lazy } from "../lazy.js";

export const FFMPEG_PACKAGE = "@ffmpeg-installer/ffmpeg";

export const ffmpegPath = lazy((): string => {
  const packaged = (createRequire(import.meta.url)(FFMPEG_PACKAGE) as { path: string }).path;
  try {
    accessSync(packaged, constants.X_OK);
    return packaged;
  } catch {
    // The packages ship the binary executable, but their postinstall (`chmod u+x`) is what npm
    // relies on and may have been skipped; the function's code is read-only, so copy it to /tmp.
    const copy = join(tmpdir(), "fitkit-ffmpeg");
    copyFileSync(packaged, copy);
    chmodSync(copy, 0o755);
    return copy;
  }
});
