/**
 * The upload client ships to browsers and React Native, so what it imports must be dependency-free:
 * its own modules and core's plain contract modules (the catalog, the shared backoff), nothing else (no zod, no Node built-in). Checked in
 * the real esbuild bundle; and the facts it exposes are core's, not a copy that could drift.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { HTTP_STATUS_BY_CODE } from "@fitkit/core/errors";
import { OWNER_TYPE_POLICIES, OWNER_TYPES } from "@fitkit/core/policies/owner-types";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import { API_ERROR_CODES, type ApiErrorCode, type OwnerType } from "../client/index.js";

/** A browser bundle of `entry`: its code and the source files it is made of. */
async function bundle(entry: string, external: string[] = []): Promise<{ code: string; inputs: string[] }> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    metafile: true,
    logLevel: "silent",
    external,
  });
  return { code: result.outputFiles[0]!.text, inputs: Object.keys(result.metafile.inputs).sort() };
}

const ZOD = /zod|ZodError|safeParse/;
/** Core's modules the client may carry: plain code with no imports. */
const CONTRACT = ["core/src/contract/backoff.ts", "core/src/contract/catalog.ts"];
let client: { code: string; inputs: string[] };
let outdir: string;
beforeAll(async () => {
  client = await bundle("client/index.ts");
  outdir = await mkdtemp(join(tmpdir(), "fitkit-client-bundle-"));
});
afterAll(() => rm(outdir, { recursive: true, force: true }));

describe("the client bundle", () => {
  it("is made of the client's own modules and core's contract catalog and backoff only", () => {
    expect(client.inputs.filter((path) => !/^client\/[a-z-]+\.ts$/.test(path))).toEqual(CONTRACT);
    expect(client.inputs).toContain("client/uploader.ts");
  });

  it("carries no zod and no Node built-in", async () => {
    const builtins = builtinModules.filter((name) => !name.startsWith("_"));
    // The check can fail: the same build of a core module that uses zod does show it.
    const withZod = await bundle("core/src/policies/request-fields.ts");

    expect(client.code).not.toMatch(ZOD);
    expect(client.code).not.toMatch(/from\s*["']node:|require\(["']/);
    for (const name of builtins) expect(client.code).not.toMatch(new RegExp(`from\\s*["']${name}["']`));
    expect(withZod.code).toMatch(ZOD);
    expect(withZod.inputs.some((path) => path.startsWith("node_modules/zod/"))).toBe(true);
  });

  it("carries no React: the binding is its own entry, which takes React from the app (a peer dependency)", async () => {
    const binding = await bundle("client/react.ts", ["react"]);

    expect(client.inputs.filter((path) => /react/.test(path))).toEqual([]);
    expect(client.code).not.toMatch(/from\s*["']react["']|useState|useEffect/);
    // The control: the binding's own bundle is the client plus an import of the app's React.
    expect(binding.inputs.filter((path) => !/^client\/[a-z-]+\.ts$/.test(path))).toEqual(CONTRACT);
    expect(binding.inputs).toContain("client/react.ts");
    expect(binding.code).toMatch(/from\s*["']react["']/);
  });

  it("carries no Uppy: the adapter is its own entry that imports only Uppy's types (the app brings Uppy)", async () => {
    const adapter = await bundle("client/uppy.ts");
    // The control: a module that imports Uppy for real does pull it into its bundle.
    const page = await bundle("test/support/uppy-page.ts");

    expect(client.inputs.filter((path) => /uppy/.test(path))).toEqual([]);
    expect(adapter.inputs.filter((path) => !/^client\/[a-z-]+\.ts$/.test(path))).toEqual(CONTRACT);
    expect(adapter.inputs).toContain("client/uppy.ts");
    expect(adapter.code).not.toMatch(/@uppy\//);
    expect(adapter.code).not.toMatch(ZOD);
    expect(page.inputs.some((path) => path.startsWith("node_modules/@uppy/core/"))).toBe(true);
    expect(page.inputs.some((path) => path.startsWith("node_modules/@uppy/aws-s3/"))).toBe(true);
  });

  it("exposes exactly core's error codes, in the contract's order", async () => {
    const file = join(outdir, "client.mjs");
    await writeFile(file, client.code);
    const bundled = (await import(pathToFileURL(file).href)) as { API_ERROR_CODES: readonly string[] };

    expect(bundled.API_ERROR_CODES).toEqual(Object.keys(HTTP_STATUS_BY_CODE));
    expect(API_ERROR_CODES).toEqual(Object.keys(HTTP_STATUS_BY_CODE));
    expectTypeOf<ApiErrorCode>().toEqualTypeOf<keyof typeof HTTP_STATUS_BY_CODE>();
  });

  it("accepts as owner types exactly those core lets an app presign", () => {
    const presignable = OWNER_TYPES.filter((type) => OWNER_TYPE_POLICIES[type].createRoles.length > 0);

    expect(presignable).toEqual(["progress_photo", "exercise_comment", "message", "organization_logo", "minisite_media"]);
    expectTypeOf<OwnerType>().toEqualTypeOf<"progress_photo" | "exercise_comment" | "message" | "organization_logo" | "minisite_media">();
  });
});
