/**
 * Running a tool that parses an uploader's bytes: as a child with an empty environment, its address
 * space, CPU time and file writes capped by the kernel (`prlimit`, util-linux — on every Debian),
 * killed (SIGKILL) after a wall-clock deadline, its stdout and stderr capped. Whatever the input
 * makes the tool do ends up in the result; only a tool that cannot be started rejects.
 */
import { spawn } from "node:child_process";

export interface ChildLimits {
  /** Wall clock: killed after this long. */
  timeoutMs: number;
  /** RLIMIT_AS: an allocation beyond this fails inside the child (which then exits). */
  memoryBytes: number;
  /** RLIMIT_FSIZE: the largest file the child may write. */
  fileBytes: number;
  /** Kept of stdout; the child is killed once it writes more. */
  maxStdoutBytes: number;
}

export interface ChildRun {
  /** Exit code; null when killed by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  /** The first 16 KiB of stderr. */
  stderr: string;
  timedOut: boolean;
  overflowed: boolean;
}

const MAX_STDERR_CHARS = 16 * 1024;

/** The `prlimit` every Debian has (util-linux). */
export const PRLIMIT = "/usr/bin/prlimit";

/** Runs `command args` in `cwd` under `limits`, with no environment variable at all. */
export function runBoundedChild(command: string, args: string[], cwd: string, limits: ChildLimits, prlimit = PRLIMIT): Promise<ChildRun> {
  const cpuSeconds = Math.max(1, Math.ceil(limits.timeoutMs / 1000));
  const bounded = [`--as=${limits.memoryBytes}`, `--fsize=${limits.fileBytes}`, `--cpu=${cpuSeconds}`, "--", command, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(prlimit, bounded, { cwd, env: {}, stdio: ["ignore", "pipe", "pipe"] });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = "";
    let timedOut = false;
    let overflowed = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, limits.timeoutMs);
    child.stdout.on("data", (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > limits.maxStdoutBytes) {
        overflowed = true;
        child.kill("SIGKILL");
        return;
      }
      stdout.push(chunk);
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      if (stderr.length < MAX_STDERR_CHARS) stderr += chunk.slice(0, MAX_STDERR_CHARS - stderr.length);
    });
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ exitCode, signal, stdout: Buffer.concat(stdout), stderr, timedOut, overflowed });
    });
  });
}
