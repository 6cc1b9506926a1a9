/**
 * `npm start`: the local stack on the embedded defaults; prints one JSON ready line, and on stderr
 * which video tools it found on PATH (or what it does without them).
 *
 * Leaves nothing behind however it is stopped: SIGINT, SIGTERM or SIGHUP close the stack (its
 * embedded S3 server too) and exit; so does losing the parent process (tsx runs this file in a
 * child process, and a SIGKILLed tsx signals nobody), and so does the embedded S3 server dying,
 * since a stack without its storage only fails. The S3 server follows this process if it dies.
 */
import { ConfigError } from "@fitkit/core/config";
import { describeVideoTools, videoTools } from "../functions/lib/deps/ffmpeg.js";
import { readLocalEnv } from "./env.js";
import { startLocalStack } from "./stack.js";

/** How long an orderly close may take before the process exits anyway (connections that never end). */
const FORCE_EXIT_MS = 5_000;
const PARENT_POLL_MS = 500;

try {
  const env = readLocalEnv(process.env);
  const stack = await startLocalStack(env);
  if (env.internalApiKeyGenerated) process.stderr.write(`x-internal-key for /internal/* (generated; set INTERNAL_API_KEY to fix it): ${env.internalApiKey}\n`);
  // What process-media runs videos with, or plainly what it does without them.
  process.stderr.write(`${describeVideoTools(videoTools())}\n`);
  process.stdout.write(`${JSON.stringify({ event: "ready", api: stack.api, s3: stack.s3, buckets: stack.buckets, publicBaseUrl: stack.publicBaseUrl })}\n`);

  let stopping = false;
  const stop = (exitCode: number) => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(exitCode), FORCE_EXIT_MS).unref();
    stack.close().then(
      () => process.exit(exitCode),
      () => process.exit(1),
    );
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => stop(0));
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop(0);
  }, PARENT_POLL_MS).unref();
  // A part stopped on request (SIGTERM/SIGINT to the S3 child): stop whole, as for the stack's own signals.
  void stack.failed.then((reason) => {
    process.stderr.write(`${reason}; stopping the local stack\n`);
    stop(0);
  });
  // The stack cannot go on (the S3 server would not stay up): exit non-zero so a supervisor restarts it whole.
  void stack.fatal.then(() => stop(1));
} catch (error) {
  process.stderr.write(`${error instanceof ConfigError ? error.message : (error as Error).stack}\n`);
  process.exit(1);
}
