/**
 * Cold starts of the handler bundles `npm run build` makes (and of the same handlers with the SDK's
 * presigner, for comparison): bytes a cold start loads, bytes loaded later (split handlers), and the
 * time a fresh Node takes to import the bundle — measured inside the child around `import()`, so
 * Node's own start-up is not in it; the handlers are sampled in turn so machine noise hits all
 * alike, and the median is kept. Goals are ratios to signed-urls' import in the same run.
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildHandlers, COLD_START_BUDGETS, INSTALLED_PACKAGES } from "../scripts/build.js";
import { median } from "./stats.js";

const here = dirname(fileURLToPath(import.meta.url));
const round = (value: number, digits = 1) => Number(value.toFixed(digits));

/** The issue's goals: cold import of each handler over signed-urls', at most. */
export const IMPORT_GOALS: Readonly<Record<string, number>> = { presign: 1.2, "upload-parts": 1.2, consume: 1.5 };

export interface BundleResult {
  bytes: number;
  lazyBytes: number;
  budgetBytes?: number;
  naiveBytes: number;
  importMs: number;
  naiveImportMs: number;
  loadsS3Client: boolean;
  installed?: readonly string[];
  installedBytes?: number;
}

export interface BundlesBench {
  handlers: Record<string, BundleResult>;
  /** importMs over that of signed-urls, with the goal and whether it is met. */
  goals: Record<string, { overSignedUrls: number; goal: number; met: boolean }>;
}

/** Milliseconds a fresh Node spends in `import(file)`. */
function importMs(file: string): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(file)}); process.stdout.write(String(performance.now() - t));`;
  return Number(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", cwd: dirname(file) }));
}

export async function benchBundles(options: { quick: boolean }): Promise<BundlesBench> {
  // Inside the repository, so a package SST installs beside a bundle (sharp, for process-media)
  // resolves from node_modules as it would from the function's own package.
  await mkdir(join(here, "..", "node_modules", ".cache"), { recursive: true });
  const outdir = await mkdtemp(join(here, "..", "node_modules", ".cache", "fitkit-bundles-"));
  try {
    const lean = await buildHandlers({ outdir: join(outdir, "lean") });
    const naive = await buildHandlers({ outdir: join(outdir, "naive"), naive: true });
    const samples = new Map<string, { lean: number[]; naive: number[] }>(lean.map((b) => [b.name, { lean: [], naive: [] }]));
    for (let r = 0; r < (options.quick ? 7 : 21); r++) {
      for (const [i, built] of lean.entries()) {
        samples.get(built.name)!.lean.push(importMs(built.file));
        samples.get(built.name)!.naive.push(importMs(naive[i]!.file));
      }
    }
    const handlers: Record<string, BundleResult> = {};
    for (const [i, built] of lean.entries()) {
      const cold = (await Promise.all(built.coldFiles.map((file) => readFile(file, "utf8")))).join("\n");
      const installed = INSTALLED_PACKAGES[built.name];
      handlers[built.name] = {
        bytes: built.bytes,
        lazyBytes: built.lazyBytes,
        ...(COLD_START_BUDGETS[built.name] ? { budgetBytes: COLD_START_BUDGETS[built.name] } : {}),
        naiveBytes: naive[i]!.bytes + naive[i]!.lazyBytes,
        importMs: round(median(samples.get(built.name)!.lean)),
        naiveImportMs: round(median(samples.get(built.name)!.naive)),
        loadsS3Client: cold.includes("S3Client"),
        ...(installed ? { installed, installedBytes: installedBytes(installed) } : {}),
      };
    }
    const baseline = handlers["signed-urls"]!.importMs;
    const goals = Object.fromEntries(
      Object.entries(IMPORT_GOALS).map(([name, goal]) => {
        const overSignedUrls = round(handlers[name]!.importMs / baseline, 2);
        return [name, { overSignedUrls, goal, met: overSignedUrls <= goal }];
      }),
    );
    return { handlers, goals };
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

/** Bytes on disk of installed packages and their platform binaries (sharp: @img/sharp-<platform>, libvips). */
function installedBytes(packages: readonly string[]): number {
  const root = join(here, "..", "node_modules");
  const dirs = packages.flatMap((name) => [join(root, name), ...(name === "sharp" ? [join(root, "@img")] : [])]);
  return Number(
    execFileSync("du", ["-sbc", ...dirs], { encoding: "utf8" })
      .trim()
      .split("\n")
      .at(-1)!
      .split(/\s+/)[0],
  );
}

export function bundleRows(bench: BundlesBench): [string, string][] {
  const rows: [string, string][] = [];
  for (const [name, b] of Object.entries(bench.handlers)) {
    const budget = b.budgetBytes ? ` (budget ${(b.budgetBytes / 1024).toFixed(0)}${b.bytes > b.budgetBytes ? " EXCEEDED" : ""})` : "";
    const lazy = b.lazyBytes ? ` +${(b.lazyBytes / 1024).toFixed(0)} when needed` : "";
    rows.push([
      `bundle ${name}: cold KiB${b.lazyBytes ? " +lazy" : ""} (naive) · import ms (naive)${b.loadsS3Client ? " · S3 client" : ""}`,
      `${(b.bytes / 1024).toFixed(0)}${lazy}${budget} (${(b.naiveBytes / 1024).toFixed(0)}) · ${b.importMs} (${b.naiveImportMs})${b.installed ? ` · + installed ${b.installed.join(", ")} ${((b.installedBytes ?? 0) / 1048576).toFixed(0)} MiB` : ""}`,
    ]);
  }
  for (const [name, g] of Object.entries(bench.goals)) {
    rows.push([`cold import ${name} / signed-urls (goal ≤ ${g.goal}×)`, `${g.overSignedUrls}× ${g.met ? "met" : "NOT met"}`]);
  }
  return rows;
}
