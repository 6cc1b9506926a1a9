/**
 * What SST installs beside the bundles of the functions that list `install` (sharp, ffmpeg), for
 * tests that run the real bundles: each package linked into `<outdir>/node_modules`, scoped
 * names included. Nothing else is there for a bundle to fall back on.
 */
import { mkdir, symlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { INSTALLED_PACKAGES } from "../../scripts/build.js";

export async function linkInstalledPackages(outdir: string): Promise<void> {
  for (const name of new Set(Object.values(INSTALLED_PACKAGES).flat())) {
    const target = join(outdir, "node_modules", name);
    await mkdir(dirname(target), { recursive: true });
    await symlink(resolve("node_modules", name), target);
  }
}
