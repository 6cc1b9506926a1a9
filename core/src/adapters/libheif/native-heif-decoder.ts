/**
 * HeifDecoder on Debian's native libheif (`heif-convert` from `libheif-examples`, with libde265 for
 * HEVC): about three times faster than the wasm build, and its memory can be bounded. The file is
 * an uploader's, so the tool runs as a bounded child (empty environment, address space, CPU time,
 * written bytes and wall clock capped: ../child-process/bounded-child.ts) in a private temporary
 * directory removed whatever happens. `heif-convert` decodes every top-level image of the file
 * (`out-1.jpg`, `out-2.jpg`, … when there are several), which is why callers check the decode plan
 * of all of them first; the primary's file is picked by its place among them.
 */
import { accessSync, constants } from "node:fs";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { HeifDecodePlan } from "../../media/heif-boxes.js";
import { HeifDecodeError, type HeifDecoder } from "../../media/image-codec.js";
import { type ChildLimits, PRLIMIT, runBoundedChild } from "../child-process/bounded-child.js";

export const HEIF_CONVERT = "/usr/bin/heif-convert";

/**
 * A 48-MP photo decodes in about 0.5 GB of address space (RSS ~0.35 GB); a file that needs more is
 * refused by the kernel inside the child. 30 s is far beyond any photo's decode on one core. The
 * wall clock is also what ends libheif 1.15's one bad way to fail that bound: a grid whose worker
 * thread cannot allocate deadlocks (every thread in futex_wait, no CPU used, so RLIMIT_CPU never
 * fires). The decode plan refuses such files before a child is started.
 */
export const NATIVE_HEIF_LIMITS: ChildLimits = {
  timeoutMs: 30_000,
  maxMemoryBytes: 1024 * 1024 * 1024,
  maxFileBytes: 256 * 1024 * 1024,
  maxStdoutBytes: 64 * 1024,
};

/** Whether the native tools are installed (the media worker's container image has them; a laptop may not). */
export function nativeHeifAvailable(tools = { heifConvert: HEIF_CONVERT, prlimit: PRLIMIT }): boolean {
  try {
    accessSync(tools.heifConvert, constants.X_OK);
    accessSync(tools.prlimit, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export class NativeHeifDecoder implements HeifDecoder {
  readonly name = "native heif-convert";

  constructor(
    private readonly tools = { heifConvert: HEIF_CONVERT, prlimit: PRLIMIT },
    private readonly limits: ChildLimits = NATIVE_HEIF_LIMITS,
  ) {}

  async decodePrimary(input: Uint8Array, plan: HeifDecodePlan, jpegQuality: number): Promise<{ jpeg: Buffer }> {
    const index = plan.topLevel.findIndex((image) => image.itemId === plan.primary.itemId);
    if (index < 0) throw new HeifDecodeError("the primary image is not a top-level image");
    const directory = await mkdtemp(join(tmpdir(), "fitkit-heif-"));
    try {
      await writeFile(join(directory, "in.heic"), input, { mode: 0o600 });
      const run = await runBoundedChild({
        command: this.tools.heifConvert,
        args: ["--quiet", "-q", String(jpegQuality), "in.heic", "out.jpg"],
        cwd: directory,
        limits: this.limits,
        prlimitPath: this.tools.prlimit,
      });
      if (run.timedOut) throw new HeifDecodeError(`heif-convert did not finish within ${this.limits.timeoutMs} ms`);
      if (run.exitCode !== 0)
        throw new HeifDecodeError(
          `heif-convert failed (${run.signal ?? `exit ${run.exitCode}`}): ${run.stderr.trim().split("\n").at(-1)?.slice(0, 300) ?? ""}`,
        );
      const written = (await readdir(directory)).filter((name) => /^out(-\d+)?\.jpg$/.test(name));
      const name = written.length === 1 && written[0] === "out.jpg" ? "out.jpg" : `out-${index + 1}.jpg`;
      if (!written.includes(name)) throw new HeifDecodeError(`heif-convert wrote ${written.join(", ") || "nothing"}, not ${name}`);
      const file = join(directory, name);
      if ((await stat(file)).size > this.limits.maxFileBytes) throw new HeifDecodeError("heif-convert wrote more than its bound");
      return { jpeg: await readFile(file) };
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  }
}
