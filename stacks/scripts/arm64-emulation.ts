/**
 * Can this machine build the scanner's arm64 image? `sst deploy` builds `scanner/Dockerfile` for
 * linux/arm64 (stacks/scanner.ts). On an arm64 host that is native. On any other host the image's
 * `RUN` steps (apt-get in the arm64 stage) execute arm64 binaries, which only works when the kernel
 * hands them to QEMU through binfmt_misc — with the `F` (fix-binary) flag, so the interpreter is
 * opened once at registration and still found inside the build's containers
 * (Documentation/admin-guide/binfmt-misc.rst in the Linux kernel; Docker's multi-platform build
 * documentation asks for the same through `tonistiigi/binfmt`). Without it the deploy fails
 * midway with "exec format error".
 *
 * For the preflight script: plain data in, a list of problems with their fixes out; no output.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

export interface Arm64EmulationCheck {
  /** What was found, in one line. */
  summary: string;
  /** Empty when an arm64 image can be built here. */
  problems: { problem: string; fix: string }[];
}

/** An aarch64 ELF header as binfmt_misc entries match it (e_ident + e_machine = 0xb7, EM_AARCH64). */
const AARCH64_MAGIC = "7f454c460201010000000000000000000200b700";
const INSTALL_FIX =
  "register QEMU for arm64: `sudo apt-get install qemu-user-static binfmt-support` (Debian/Ubuntu register it with the F flag), or `docker run --privileged --rm tonistiigi/binfmt --install arm64`; or deploy from an arm64 machine";

export async function checkArm64Emulation(options: { arch?: string; binfmtDir?: string } = {}): Promise<Arm64EmulationCheck> {
  const arch = options.arch ?? process.arch;
  if (arch === "arm64") return { summary: "arm64 host: the scanner image builds natively", problems: [] };

  const dir = options.binfmtDir ?? "/proc/sys/fs/binfmt_misc";
  const status = await readFile(join(dir, "status"), "utf8").catch(() => null);
  if (status === null) {
    return {
      summary: `${arch} host without binfmt_misc`,
      problems: [
        {
          problem: `this ${arch} machine cannot run arm64 binaries: binfmt_misc is not mounted at ${dir}, so the scanner's arm64 image cannot be built here`,
          fix: `mount it (\`sudo mount -t binfmt_misc binfmt_misc ${dir}\`), then ${INSTALL_FIX}`,
        },
      ],
    };
  }
  if (status.trim() !== "enabled") {
    return {
      summary: `${arch} host, binfmt_misc disabled`,
      problems: [{ problem: `binfmt_misc is mounted but ${status.trim()}`, fix: `\`echo 1 | sudo tee ${join(dir, "status")}\`, then check again` }],
    };
  }

  const entries = (await readdir(dir)).filter((name) => name !== "status" && name !== "register");
  const handlers = await Promise.all(entries.map(async (name) => ({ name, ...parseEntry(await readFile(join(dir, name), "utf8").catch(() => "")) })));
  const aarch64 = handlers.filter((handler) => handler.magic === AARCH64_MAGIC);
  if (aarch64.length === 0) {
    return {
      summary: `${arch} host, no arm64 handler in binfmt_misc`,
      problems: [{ problem: `no binfmt_misc entry runs arm64 (aarch64) binaries on this ${arch} machine`, fix: INSTALL_FIX }],
    };
  }
  const usable = aarch64.find((handler) => handler.enabled && handler.flags.includes("F"));
  if (usable) return { summary: `${arch} host, arm64 through ${usable.interpreter} (binfmt_misc ${usable.name}, flags ${usable.flags})`, problems: [] };
  const [found] = aarch64;
  return {
    summary: `${arch} host, arm64 handler ${found!.name} not usable for image builds`,
    problems: [
      {
        problem: found!.enabled
          ? `binfmt_misc ${found!.name} runs arm64 through ${found!.interpreter} without the F (fix-binary) flag, so builds inside containers cannot find the interpreter`
          : `binfmt_misc ${found!.name} (arm64) is disabled`,
        fix: `re-register it with the F flag: ${INSTALL_FIX}`,
      },
    ],
  };
}

/** One binfmt_misc entry file: "enabled", "interpreter …", "flags: …", "offset …", "magic …", "mask …". */
function parseEntry(text: string): { enabled: boolean; interpreter: string; flags: string; magic: string } {
  const lines = text.split("\n").map((line) => line.trim());
  const value = (prefix: string) =>
    lines
      .find((line) => line.startsWith(prefix))
      ?.slice(prefix.length)
      .trim() ?? "";
  return { enabled: lines[0] === "enabled", interpreter: value("interpreter "), flags: value("flags:"), magic: value("magic ").toLowerCase() };
}
