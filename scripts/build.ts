/**
 * `npm run build`: each handler bundled on its own, as SST does for Lambda (esbuild, ESM,
 * minified, tree-shaken, Node 22), into dist/<handler>/index.mjs. Every dependency is inside the
 * bundle; ioredis (self-hosted Redis only) sits behind a dynamic import, so it is initialised
 * only where it is used.
 *
 * Packages a function's table entry lists under `install` (sharp for process-media) stay external,
 * as SST installs them beside the bundle for Lambda's platform instead of inlining them. A function
 * with `splitting` (presign) is built alone with esbuild's code splitting, as SST does then: what it
 * reaches only through `import()` lands in chunks beside index.mjs, loaded when first needed.
 *
 * `buildHandlers({ naive: true })` builds the comparison bundles for the bench: the same handlers
 * with the SDK's presigner (the full S3 client and getSignedUrl) in place of FastUrlSigner.
 */
import { readdirSync } from "node:fs";
import { stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type BuildOptions, build, type Metafile, type Plugin } from "esbuild";
import { FUNCTIONS } from "../stacks/functions.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export const HANDLERS = readdirSync(join(root, "functions"))
  .filter((file) => file.endsWith(".ts") && !file.endsWith(".test.ts"))
  .map((file) => basename(file, ".ts"))
  .sort();

/** Swaps the fast signer for the SDK's presigner in the handlers' signer module. */
const sdkSignerPlugin: Plugin = {
  name: "naive-sdk-signer",
  setup(b) {
    b.onResolve({ filter: /fast-url-signer$/ }, (args) =>
      args.importer.endsWith(join("functions", "lib", "deps", "signer.ts")) ? { path: "naive-signer", namespace: "naive" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "naive" }, () => ({
      contents: `export { SdkUrlSigner as FastUrlSigner } from ${JSON.stringify(join(root, "core/src/adapters/s3/sdk-url-signer.ts"))};`,
      loader: "ts",
      resolveDir: root,
    }));
  },
};

/** The handlers whose table entry asks for code splitting, by handler name. */
export const SPLIT_HANDLERS: readonly string[] = Object.values(FUNCTIONS).flatMap((spec) =>
  "splitting" in spec && spec.splitting ? [basename(spec.handler).replace(/\.handler$/, "")] : [],
);

/** The packages SST installs for each handler file (stacks/functions.ts `install`), by handler name. */
export const INSTALLED_PACKAGES: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  Object.values(FUNCTIONS).flatMap((spec) =>
    "install" in spec ? [[basename(spec.handler).replace(/\.handler$/, ""), spec.install as readonly string[]]] : [],
  ),
);

export interface BuiltHandler {
  name: string;
  file: string;
  /** What a cold start loads: index.mjs and the chunks it imports statically. */
  bytes: number;
  /** Chunks loaded only by a dynamic `import()`, on the first request that needs them (0 unless split). */
  lazyBytes: number;
  /** The files behind `bytes` (index.mjs first) and behind `lazyBytes`. */
  coldFiles: string[];
  lazyFiles: string[];
}

const BANNER =
  "import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fup } from 'node:url'; const require = __cr(import.meta.url); const __filename = __fup(import.meta.url); const __dirname = __fup(new URL('.', import.meta.url));";

export async function buildHandlers(options: { outdir?: string; naive?: boolean } = {}): Promise<BuiltHandler[]> {
  const outdir = options.outdir ?? join(root, options.naive ? "dist-naive" : "dist");
  const common = (external: readonly string[]): BuildOptions => ({
    outdir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    target: "node22",
    format: "esm",
    minify: true,
    treeShaking: true,
    legalComments: "none",
    // ESM bundles of CommonJS dependencies need `require`, `__filename` and `__dirname` (libheif-js
    // reads `__dirname` when it loads), as SST's own ESM banner defines them.
    banner: { js: BANNER },
    plugins: options.naive ? [sdkSignerPlugin] : [],
    external: [...external],
    logLevel: "warning",
    absWorkingDir: root,
  });
  // One esbuild run per set of installed packages (the externals differ): each handler is still its
  // own bundle, byte for byte what building it alone gives, but the modules they share are parsed
  // once — a fraction of the time of one run per handler. Split handlers are built alone (chunks
  // shared between handlers would not be what SST deploys for each).
  const groups = new Map<string, string[]>();
  for (const name of HANDLERS.filter((h) => !SPLIT_HANDLERS.includes(h))) {
    const external = JSON.stringify(INSTALLED_PACKAGES[name] ?? []);
    groups.set(external, [...(groups.get(external) ?? []), name]);
  }
  const metafiles = new Map<string, Metafile>();
  await Promise.all([
    ...[...groups].map(([external, names]) =>
      build({
        ...common(JSON.parse(external) as string[]),
        entryPoints: Object.fromEntries(names.map((name) => [join(name, "index"), join(root, "functions", `${name}.ts`)])),
      }),
    ),
    ...SPLIT_HANDLERS.map(async (name) => {
      const result = await build({
        ...common(INSTALLED_PACKAGES[name] ?? []),
        outdir: join(outdir, name),
        entryPoints: { index: join(root, "functions", `${name}.ts`) },
        splitting: true,
        metafile: true,
      });
      metafiles.set(name, result.metafile);
    }),
  ]);
  return Promise.all(
    HANDLERS.map(async (name) => {
      const file = join(outdir, name, "index.mjs");
      const metafile = metafiles.get(name);
      if (!metafile) return { name, file, bytes: (await stat(file)).size, lazyBytes: 0, coldFiles: [file], lazyFiles: [] };
      return { name, file, ...chunks(metafile, file) };
    }),
  );
}

/** The entry and its static imports (transitively) — what a cold start loads — and the other chunks, from esbuild's metafile. */
function chunks(metafile: Metafile, entry: string): Omit<BuiltHandler, "name" | "file"> {
  const outputs = new Map(
    Object.entries(metafile.outputs)
      .filter(([path]) => path.endsWith(".mjs"))
      .map(([path, output]) => [resolve(root, path), output]),
  );
  const coldFiles: string[] = [];
  const visit = (path: string): void => {
    if (coldFiles.includes(path)) return;
    coldFiles.push(path);
    for (const imported of outputs.get(path)?.imports ?? []) {
      if (imported.kind === "import-statement" && !imported.external) visit(resolve(root, imported.path));
    }
  };
  visit(entry);
  const lazyFiles = [...outputs.keys()].filter((path) => !coldFiles.includes(path));
  const sum = (paths: string[]) => paths.reduce((total, path) => total + outputs.get(path)!.bytes, 0);
  return { bytes: sum(coldFiles), lazyBytes: sum(lazyFiles), coldFiles, lazyFiles };
}

/**
 * What each request-path handler (one with a route, and consume, which an app calls while its user
 * waits) may load at a cold start, in bytes: its size when the budget was set plus about a tenth.
 * The bundle test fails when one grows past it — raise a budget on purpose, with the reason in the
 * commit, never just to make the test pass.
 */
export const COLD_START_BUDGETS: Readonly<Record<string, number>> = {
  presign: 330_000,
  "upload-parts": 487_000,
  "list-upload-parts": 1_130_000,
  "complete-upload": 1_135_000,
  "cancel-upload": 1_130_000,
  "signed-urls": 485_000,
  "upload-policy": 178_000,
  "public-signature-put": 1_380_000,
  "public-signature-upload-request": 1_145_000,
  "public-signature-complete": 1_380_000,
  health: 1_000,
  consume: 560_000,
};

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const handler of await buildHandlers()) {
    const lazy = handler.lazyBytes > 0 ? ` (+${(handler.lazyBytes / 1024).toFixed(1)} KiB loaded when needed)` : "";
    console.log(`${handler.name.padEnd(24)} ${(handler.bytes / 1024).toFixed(1).padStart(8)} KiB  ${handler.file}${lazy}`);
  }
}
