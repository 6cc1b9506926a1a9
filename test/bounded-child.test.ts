/** Tools that parse uploads run with nothing of the worker's: no environment, bounded memory, time and output. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runBoundedChild } from "@fitkit/core/adapters/child-process/bounded-child";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const limits = { timeoutMs: 5_000, memoryBytes: 256 * 1024 * 1024, fileBytes: 1024, maxStdoutBytes: 4096 };
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
    const run = await runBoundedChild("/usr/bin/env", [], dir, limits);
    expect({ exitCode: run.exitCode, stdout: run.stdout.toString() }).toEqual({ exitCode: 0, stdout: "" });
  });

  it("caps the address space, CPU time and file size with the kernel's limits", async () => {
    const run = await runBoundedChild("/bin/sh", ["-c", "ulimit -v; ulimit -t; ulimit -f"], dir, limits);
    // ulimit -v and -f count KiB and 512-byte blocks in dash.
    expect(run.stdout.toString().trim().split("\n")).toEqual([String(256 * 1024), "5", "2"]);
  });

  it("kills a tool past its deadline, and one writing more than its output bound", async () => {
    const slow = await runBoundedChild("/bin/sleep", ["10"], dir, { ...limits, timeoutMs: 200 });
    expect({ timedOut: slow.timedOut, signal: slow.signal }).toEqual({ timedOut: true, signal: "SIGKILL" });
    const loud = await runBoundedChild("/usr/bin/yes", [], dir, limits);
    expect({ overflowed: loud.overflowed, kept: loud.stdout.length <= 4096 }).toEqual({ overflowed: true, kept: true });
  });
});
