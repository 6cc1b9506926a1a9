/**
 * Codecs live behind ports: no module under core/src outside core/src/adapters/ imports a codec
 * library (sharp, libheif and its wrappers, ffmpeg packages) or spawns a tool (node:child_process),
 * so which bundle carries a codec never decides where domain code lives. Reads every module's
 * imports (static, dynamic and `require`) with TypeScript's own pre-processor.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const core = fileURLToPath(new URL("../core/src/", import.meta.url));
const ADAPTERS = "adapters/";

/** Codec libraries and the means of running codec tools: only adapters may import them. */
const CODEC_MODULES = [/^sharp(\/|$)/, /^heic-decode(\/|$)/, /^libheif-js(\/|$)/, /^@ffmpeg-installer\//, /^ffmpeg-static/, /^(node:)?child_process$/];

const isCodec = (specifier: string) => CODEC_MODULES.some((pattern) => pattern.test(specifier));

function modules(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return modules(path);
    return /\.(ts|mts|js|mjs)$/.test(entry.name) && !entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

/** Every module `source` imports, however it imports it. */
function importsOf(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
}

/** `module → codec imports` for every module of core/src outside its adapters. */
function codecImportsOutsideAdapters(files: Record<string, string>): Record<string, string[]> {
  return Object.fromEntries(
    Object.entries(files)
      .filter(([path]) => !path.startsWith(ADAPTERS))
      .map(([path, source]) => [path, importsOf(source).filter(isCodec)] as const)
      .filter(([, codecs]) => codecs.length > 0),
  );
}

describe("codec libraries", () => {
  const files = Object.fromEntries(modules(core).map((path) => [relative(core, path), readFileSync(path, "utf8")]));

  it("are imported by no module under core/src outside core/src/adapters/ (tests included)", () => {
    expect(Object.keys(files).length).toBeGreaterThan(50);
    expect(codecImportsOutsideAdapters(files)).toEqual({});
  });

  it("the check sees a planted import of each kind: static, type-only, dynamic, require, child_process", () => {
    const planted = {
      "media/a.ts": 'import sharp from "sharp";',
      "media/b.ts": 'import type { Sharp } from "sharp";',
      "publishing/c.ts": 'const m = await import("libheif-js/wasm-bundle");',
      "media/d.ts": 'const ffmpeg = require("@ffmpeg-installer/ffmpeg");',
      "media/e.ts": 'import { spawn } from "node:child_process";',
      "media/f.ts": 'export { default } from "heic-decode";',
      "adapters/sharp/g.ts": 'import sharp from "sharp";',
      "media/h.ts": 'import { x } from "./sharp-like.js";',
    };
    expect(codecImportsOutsideAdapters(planted)).toEqual({
      "media/a.ts": ["sharp"],
      "media/b.ts": ["sharp"],
      "publishing/c.ts": ["libheif-js/wasm-bundle"],
      "media/d.ts": ["@ffmpeg-installer/ffmpeg"],
      "media/e.ts": ["node:child_process"],
      "media/f.ts": ["heic-decode"],
    });
  });

  it("are imported by the adapters that wrap them", () => {
    expect(importsOf(files["adapters/sharp/sharp-image-codec.ts"]!)).toContain("sharp");
    expect(importsOf(files["adapters/libheif/wasm-heif-decoder.ts"]!)).toContain("libheif-js/wasm-bundle");
  });
});
