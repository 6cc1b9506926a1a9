import { execFileSync } from "node:child_process";
import { matchesGlob } from "node:path";
import { describe, expect, it } from "vitest";
import { browserTests, unitTests, unitTierExceptions } from "../vitest.config.js";

/** The tier each file lands in, decided as vitest.config.ts's projects decide it. */
function tiersOf(file: string): string[] {
  const matches = (globs: string[]) => globs.some((glob) => matchesGlob(file, glob));
  const tiers: string[] = [];
  if (matches(unitTests) && !matches(unitTierExceptions)) tiers.push("unit");
  if (matches(browserTests)) tiers.push("browser");
  const integrationRoots = [...unitTierExceptions, "scanner/**/*.test.ts", "test/**/*.test.ts"];
  if (matches(integrationRoots) && !matches(unitTests.filter((glob) => !glob.startsWith("core/"))) && !matches(browserTests)) {
    tiers.push("integration");
  }
  return tiers;
}

describe("test tiers", () => {
  it("every test file outside stacks/ runs in exactly one tier of npm test", () => {
    const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "*.test.ts"], { encoding: "utf8" })
      .split("\n")
      .filter((file) => file !== "" && !file.startsWith("stacks/") && !file.startsWith("examples/"));
    const misplaced = files.map((file) => ({ file, tiers: tiersOf(file) })).filter(({ tiers }) => tiers.length !== 1);
    expect(files.length).toBeGreaterThan(50);
    expect(misplaced).toEqual([]);
  });

  it("no unit test file imports a fixture that starts a system service", async () => {
    const { readFile } = await import("node:fs/promises");
    const serviceFixtures = /support\/(redis-server|clamd|local-stack|browser|media-backends|staging-adapters|upstash-bridge|video)\.js|embedded-s3-/;
    const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "*.test.ts"], { encoding: "utf8" })
      .split("\n")
      .filter((file) => file !== "" && file !== "test/test-tiers.test.ts" && tiersOf(file).includes("unit"));
    const startingServices: string[] = [];
    for (const file of files) if (serviceFixtures.test(await readFile(file, "utf8"))) startingServices.push(file);
    expect(startingServices).toEqual([]);
  });
});
