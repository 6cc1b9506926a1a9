/**
 * Runs a tool that parses untrusted files as a bounded child process: no shell, an empty
 * environment (no storage or Redis token reaches it), killed (SIGKILL) after `timeoutMs`, stdout
 * capped, the log kept to its first 64 KiB, and — through util-linux's `prlimit`, which sets the
 * limits on itself and then execs the tool — its address space, written file size, CPU time and
 * core dumps limited by the kernel (RLIMIT_AS, RLIMIT_FSIZE, RLIMIT_CPU, RLIMIT_CORE).
 */
import { spawn } from "node:child_process";

/** The `prlimit` every Debian has (util-linux). */
export const PRLIMIT = "/usr/bin/prlimit";

/** What is kept of a child's log. */
const MAX_LOG_CHARS = 64 * 1024;

export interface ChildLimits {
  timeoutMs: number;
  /** Bytes of stdout kept; more kills the child (`overflowed`). */
  maxStdoutBytes: number;
  /** Address space (virtual memory) of the child, in bytes; exceeding it fails its allocations. */
  maxMemoryBytes: number;
  /** The largest file the child may write, in bytes (RLIMIT_FSIZE: SIGXFSZ past it). */
  maxFileBytes: number;
}

export interface ChildRun {
  /** Exit code; null when killed by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  /** The first 64 KiB of the log: for operators' messages only, never parsed for facts. */
  stderr: string;
  timedOut: boolean;
  /** Killed because stdout passed its cap. */
  overflowed: boolean;
}

/** `prlimit` arguments that bound a child, then the command (prlimit execs it: same process, same pid). */
export function prlimitArgs(limits: ChildLimits, command: string, args: readonly string[]): string[] {
  // CPU seconds: every core busy for the whole wall-clock bound is the most an honest run can use.
  const cpuSeconds = Math.max(1, Math.ceil((limits.timeoutMs / 1000) * 4));
  return [`--as=${limits.maxMemoryBytes}`, `--fsize=${limits.maxFileBytes}`, `--cpu=${cpuSeconds}`, "--core=0", "--", command, ...args];
}

/**
 * Runs `command` with `args` under `limits` (through `prlimitPath` when given). Rejects only when
 * the child cannot be started (a deployment fault); whatever the input makes the tool do is in the result.
 */
export function runBoundedChild(spec: {
  command: string;
  args: readonly string[];
  prlimitPath: string | null;
  limits: ChildLimits;
  /** The child's working directory (relative file names in `args` resolve there). */
  cwd?: string;
}): Promise<ChildRun> {
  const { limits } = spec;
  const [file, args] = spec.prlimitPath ? [spec.prlimitPath, prlimitArgs(limits, spec.command, spec.args)] : [spec.command, [...spec.args]];
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"], env: {}, shell: false, ...(spec.cwd ? { cwd: spec.cwd } : {}) });
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
      if (stderr.length < MAX_LOG_CHARS) stderr += chunk.slice(0, MAX_LOG_CHARS - stderr.length);
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
