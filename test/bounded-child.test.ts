/** Tools that parse uploads run with nothing of the worker's: no environment, bounded memory, time and output. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PRLIMIT, runBoundedChild } from "@fitkit/core/adapters/child-process/bounded-child";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const limits = { timeoutMs: 5_000, maxMemoryBytes: 256 * 1024 * 1024, maxFileBytes: 1024, maxStdoutBytes: 4096 };
const run = (command: string, args: string[], bounds = limits) => runBoundedChild({ command, args, cwd: dir, limits: bounds, prlimitPath: PRLIMIT });
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fitkit-child-"));
  process.env.FITKIT_SECRET_FOR_TEST = "must-not-leak";
});
afterAll(async () => {
  delete process.env.FITKIT_SECRET_FOR_TEST;
  await rm(dir, { recursive: true, force: true });
});

describe("runBoundedChild", () => {
  it("starts the tool with an empty environment", async () => {
    const result = await run("/usr/bin/env", []);
    expect({ exitCode: result.exitCode, stdout: result.stdout.toString() }).toEqual({ exitCode: 0, stdout: "" });
  });

  it("caps the address space, CPU time and file size with the kernel's limits", async () => {
    const result = await run("/bin/sh", ["-c", "ulimit -v; ulimit -t; ulimit -f"]);
    // ulimit -v and -f count KiB and 512-byte blocks in dash.
    // CPU seconds: every core busy for the whole wall-clock bound (4 × 5 s).
    expect(result.stdout.toString().trim().split("\n")).toEqual([String(256 * 1024), "20", "2"]);
  });

  it("kills a tool past its deadline, and one writing more than its output bound", async () => {
    const slow = await run("/bin/sleep", ["10"], { ...limits, timeoutMs: 200 });
    expect({ timedOut: slow.timedOut, signal: slow.signal }).toEqual({ timedOut: true, signal: "SIGKILL" });
    const loud = await run("/usr/bin/yes", []);
    expect({ overflowed: loud.overflowed, kept: loud.stdout.length <= 4096 }).toEqual({ overflowed: true, kept: true });
  });
});
