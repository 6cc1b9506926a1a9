/**
 * `npm run build`: each handler bundled on its own, as SST does for Lambda (esbuild, ESM,
 * minified, tree-shaken, Node 22), into dist/<handler>/index.mjs. Every dependency is inside the
 * bundle; ioredis (self-hosted Redis only) sits behind a dynamic import, so it is initialised
 * only where it is used.
 *
 * Packages a function's table entry lists under `install` (sharp for process-media) stay external,
 * as SST installs them beside the bundle for Lambda's platform instead of inlining them.
 *
 * `buildHandlers({ naive: true })` builds the comparison bundles for the bench: the same handlers
 * with the SDK's presigner (the full S3 client and getSignedUrl) in place of FastUrlSigner.
 */
import { readdirSync } from "node:fs";
import { stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";
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

/** The packages SST installs for each handler file (stacks/functions.ts `install`), by handler name. */
export const INSTALLED_PACKAGES: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  Object.values(FUNCTIONS).flatMap((spec) =>
    "install" in spec ? [[basename(spec.handler).replace(/\.handler$/, ""), spec.install as readonly string[]]] : [],
  ),
);

export interface BuiltHandler {
  name: string;
  file: string;
  bytes: number;
}

export async function buildHandlers(options: { outdir?: string; naive?: boolean } = {}): Promise<BuiltHandler[]> {
  const outdir = options.outdir ?? join(root, options.naive ? "dist-naive" : "dist");
  // One esbuild run per set of installed packages (the externals differ): each handler is still its
  // own bundle, byte for byte what building it alone gives, but the modules they share are parsed
  // once — a fraction of the time of one run per handler.
  const groups = new Map<string, string[]>();
  for (const name of HANDLERS) {
    const external = JSON.stringify(INSTALLED_PACKAGES[name] ?? []);
    groups.set(external, [...(groups.get(external) ?? []), name]);
  }
  for (const [external, names] of groups) {
    await build({
      entryPoints: Object.fromEntries(names.map((name) => [join(name, "index"), join(root, "functions", `${name}.ts`)])),
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
      banner: {
        js: "import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fup } from 'node:url'; const require = __cr(import.meta.url); const __filename = __fup(import.meta.url); const __dirname = __fup(new URL('.', import.meta.url));",
      },
      plugins: options.naive ? [sdkSignerPlugin] : [],
      external: JSON.parse(external) as string[],
      logLevel: "warning",
    });
  }
  return Promise.all(
    HANDLERS.map(async (name) => {
      const file = join(outdir, name, "index.mjs");
      return { name, file, bytes: (await stat(file)).size };
    }),
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const handler of await buildHandlers()) console.log(`${handler.name.padEnd(24)} ${(handler.bytes / 1024).toFixed(1).padStart(8)} KiB  ${handler.file}`);
}
