/**
 * The video codec stays behind its port: only adapters start processes or name a codec tool, so
 * which bundle carries ffmpeg never decides where domain code lives (a test that reads the imports).
 */
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const coreSource = fileURLToPath(new URL("..", import.meta.url));

async function sourceFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) => {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) return sourceFiles(path);
      return Promise.resolve(entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") ? [path] : []);
    }),
  );
  return nested.flat();
}

/** Module specifiers of static and dynamic imports (and re-exports). */
const importsOf = (code: string): string[] => [...code.matchAll(/(?:from\s*|import\s*\(\s*|import\s+)["']([^"']+)["']/g)].map((m) => m[1]!);

const PROCESS_MODULES = /^(node:)?(child_process|worker_threads|cluster)$/;
const CODEC_PACKAGES = /^(@ffmpeg-installer\/|ffmpeg-static|ffprobe-static|fluent-ffmpeg|node-av)/;

describe("codec tools live in core/src/adapters only", () => {
  it("no module under core/src outside adapters starts a process or imports a video codec package", async () => {
    const offenders: string[] = [];
    for (const file of await sourceFiles(coreSource)) {
      const path = relative(coreSource, file);
      if (path.startsWith("adapters/")) continue;
      for (const specifier of importsOf(await readFile(file, "utf8"))) {
        if (PROCESS_MODULES.test(specifier) || CODEC_PACKAGES.test(specifier)) offenders.push(`${path} imports ${specifier}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it("the check sees a planted import (static, dynamic and re-exported)", () => {
    expect(importsOf('import { spawn } from "node:child_process";\nconst m = await import("@ffmpeg-installer/ffmpeg");\nexport * from "x";')).toEqual([
      "node:child_process",
      "@ffmpeg-installer/ffmpeg",
      "x",
    ]);
  });
});
