/**
 * bench/results.json holds one section per command (`npm run bench` at the top level, `load`,
 * `chaos`): each command merges its own section and leaves the others as they are.
 */
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const RESULTS_FILE = join(dirname(fileURLToPath(import.meta.url)), "results.json");

/** Reads the file (empty when there is none), sets `section`, writes it back. */
export async function mergeResults(section: string, value: unknown): Promise<void> {
  const current = JSON.parse(await readFile(RESULTS_FILE, "utf8").catch(() => "{}")) as Record<string, unknown>;
  await writeFile(RESULTS_FILE, `${JSON.stringify({ ...current, [section]: value }, null, 2)}\n`);
}
