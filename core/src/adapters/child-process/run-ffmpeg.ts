/**
 * Running ffmpeg on an uploader's video: killed (SIGKILL) after a deadline or once stdout passes its
 * cap, its log kept up to a bound. Moved here unchanged from core/src/media/video-pipeline.ts so no
 * domain module spawns a codec tool.
 */
import { spawn } from "node:child_process";

/** What is kept of ffmpeg's log (the container description comes first). */
const MAX_LOG_CHARS = 64 * 1024;

export interface FfmpegRun {
  /** Exit code; null when killed. */
  exitCode: number | null;
  stdout: Buffer;
  /** The first MAX_LOG_CHARS of the log. */
  stderr: string;
  timedOut: boolean;
  /** Killed because stdout passed its cap. */
  overflowed: boolean;
}

/**
 * Runs ffmpeg with `args`, killing it (SIGKILL) after `timeoutMs` or once stdout passes
 * `maxStdoutBytes`. Rejects only when the binary cannot be started (a deployment fault, which the
 * queue's retries and dead-letter queue surface); whatever the input does is in the result.
 */
export function runFfmpeg(ffmpegPath: string, args: string[], limits: { timeoutMs: number; maxStdoutBytes: number }): Promise<FfmpegRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpegPath, args, { stdio: ["ignore", "pipe", "pipe"] });
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
    child.on("close", (exitCode) => {
      clearTimeout(timer);
      resolve({ exitCode, stdout: Buffer.concat(stdout), stderr, timedOut, overflowed });
    });
  });
}
