/**
 * The arm64-build check that preflight runs before `sst deploy` (stacks/scripts/arm64-emulation.ts),
 * on binfmt_misc directories laid out as the kernel presents them
 * (Documentation/admin-guide/binfmt-misc.rst: a `status` file, one file per handler with
 * "enabled", "interpreter", "flags:", "offset", "magic", "mask"); the aarch64 entry is the one
 * Debian's qemu-user-static registers.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkArm64Emulation } from "../scripts/arm64-emulation.js";

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const QEMU_AARCH64 = (flags: string, state = "enabled") =>
  [
    state,
    "interpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P",
    `flags: ${flags}`,
    "offset 0",
    "magic 7f454c460201010000000000000000000200b700",
    "mask ffffffffffffff00fffffffffffffffffeffffff",
    "",
  ].join("\n");
const QEMU_RISCV64 = [
  "enabled",
  "interpreter /usr/libexec/qemu-binfmt/riscv64-binfmt-P",
  "flags: POCF",
  "offset 0",
  "magic 7f454c460201010000000000000000000200f300",
  "",
].join("\n");

async function binfmt(entries: Record<string, string> | null, status = "enabled"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "fitkit-binfmt-"));
  dirs.push(dir);
  if (entries === null) return join(dir, "not-mounted");
  await mkdir(join(dir, "binfmt_misc"));
  await writeFile(join(dir, "binfmt_misc", "status"), `${status}\n`);
  await writeFile(join(dir, "binfmt_misc", "register"), "");
  for (const [name, text] of Object.entries(entries)) await writeFile(join(dir, "binfmt_misc", name), text);
  return join(dir, "binfmt_misc");
}

describe("checkArm64Emulation", () => {
  it("passes on an arm64 host without looking further", async () => {
    expect(await checkArm64Emulation({ arch: "arm64", binfmtDir: "/nonexistent" })).toEqual({
      summary: "arm64 host: the scanner image builds natively",
      problems: [],
    });
  });

  it("passes on x64 with QEMU registered for aarch64 with the fix-binary flag", async () => {
    const dir = await binfmt({ "qemu-aarch64": QEMU_AARCH64("POCF"), "qemu-riscv64": QEMU_RISCV64 });
    expect(await checkArm64Emulation({ arch: "x64", binfmtDir: dir })).toEqual({
      summary: "x64 host, arm64 through /usr/libexec/qemu-binfmt/aarch64-binfmt-P (binfmt_misc qemu-aarch64, flags POCF)",
      problems: [],
    });
  });

  it("names each missing piece with its fix", async () => {
    const cases = {
      notMounted: await binfmt(null),
      disabled: await binfmt({ "qemu-aarch64": QEMU_AARCH64("POCF") }, "disabled"),
      noAarch64: await binfmt({ "qemu-riscv64": QEMU_RISCV64 }),
      withoutF: await binfmt({ "qemu-aarch64": QEMU_AARCH64("OC") }),
      handlerDisabled: await binfmt({ "qemu-aarch64": QEMU_AARCH64("POCF", "disabled") }),
    };
    const problems = async (dir: string) => (await checkArm64Emulation({ arch: "x64", binfmtDir: dir })).problems.map((p) => p.problem);

    expect(await problems(cases.notMounted)).toEqual([
      `this x64 machine cannot run arm64 binaries: binfmt_misc is not mounted at ${cases.notMounted}, so the scanner's arm64 image cannot be built here`,
    ]);
    expect(await problems(cases.disabled)).toEqual(["binfmt_misc is mounted but disabled"]);
    expect(await problems(cases.noAarch64)).toEqual(["no binfmt_misc entry runs arm64 (aarch64) binaries on this x64 machine"]);
    expect(await problems(cases.withoutF)).toEqual([
      "binfmt_misc qemu-aarch64 runs arm64 through /usr/libexec/qemu-binfmt/aarch64-binfmt-P without the F (fix-binary) flag, so builds inside containers cannot find the interpreter",
    ]);
    expect(await problems(cases.handlerDisabled)).toEqual(["binfmt_misc qemu-aarch64 (arm64) is disabled"]);
    for (const dir of Object.values(cases)) {
      for (const { fix } of (await checkArm64Emulation({ arch: "x64", binfmtDir: dir })).problems)
        expect(fix).toMatch(/qemu-user-static|tonistiigi\/binfmt|echo 1/);
    }
  });
});
