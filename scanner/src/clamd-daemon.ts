/**
 * The container's own clamd: a generated clamd.conf (loopback TCP, the definitions directory,
 * stream limits), started once per container and waited for until it answers PING. Loading the
 * official definitions takes tens of seconds and about 1.5 GB of memory, which is why the scanner
 * Lambda is sized as it is (stacks/scanner.ts) and why this runs on the first invocation rather than
 * in Lambda's 10-second init phase.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { pingClamd } from "@fitkit/core/adapters/clamd/clamd-scanner";

export interface ClamdDaemonOptions {
  /** The clamd binary (Debian: /usr/sbin/clamd). */
  binary: string;
  /** Holds the definitions (*.cvd, *.cld, or any other ClamAV database). */
  databaseDirectory: string;
  /** Where the config and clamd's temporary files go (Lambda: under /tmp). */
  workDirectory: string;
  port: number;
  /** Largest stream clamd accepts, in bytes; a longer one is an error, never "OK". */
  streamMaxBytes: number;
  startTimeoutMs?: number;
}

export interface ClamdDaemon {
  host: string;
  port: number;
  /** Makes clamd load the definitions again (after they changed on disk). */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

const HOST = "127.0.0.1";

export function clamdConfig(options: ClamdDaemonOptions): string {
  return [
    `TCPSocket ${options.port}`,
    `TCPAddr ${HOST}`,
    "Foreground yes",
    `DatabaseDirectory ${options.databaseDirectory}`,
    `TemporaryDirectory ${options.workDirectory}`,
    `StreamMaxLength ${options.streamMaxBytes}`,
    // Files over MaxFileSize are not scanned and reported OK: keep it ≥ StreamMaxLength, and flag
    // anything over a limit instead of passing it.
    `MaxFileSize ${options.streamMaxBytes}`,
    `MaxScanSize ${options.streamMaxBytes * 4}`,
    "AlertExceedsMax yes",
    // A reload builds the new engine beside the old one (twice the memory for a moment, which the
    // function's size allows): scans go on meanwhile. Without it clamd holds scans for up to 30 s.
    "ConcurrentDatabaseReload yes",
    // Lambda runs as an unprivileged user: no user switch, no log or pid files (in the foreground
    // clamd writes its messages to the console, which Lambda sends to the function's log).
    "LogTime no",
    "LogClean no",
    "",
  ].join("\n");
}

export async function startClamdDaemon(options: ClamdDaemonOptions): Promise<ClamdDaemon> {
  const configPath = join(options.workDirectory, "clamd.conf");
  await writeFile(configPath, clamdConfig(options));
  const child = spawn(options.binary, ["--foreground", `--config-file=${configPath}`], { stdio: ["ignore", "inherit", "inherit"] });
  const exited = new Promise<string>((resolve) => {
    child.once("error", (error) => resolve(`could not start clamd: ${error.message}`));
    child.once("exit", (code, signal) => resolve(`clamd exited (${signal ?? `code ${code}`}) before answering`));
  });

  const deadline = Date.now() + (options.startTimeoutMs ?? 120_000);
  for (;;) {
    const early = await Promise.race([exited, delay(100).then(() => null)]);
    if (early !== null) throw new Error(early);
    if (await pingClamd({ host: HOST, port: options.port, timeoutMs: 500 })) break;
    if (Date.now() > deadline) {
      kill(child);
      throw new Error(`clamd did not answer within ${options.startTimeoutMs ?? 120_000} ms`);
    }
  }
  return {
    host: HOST,
    port: options.port,
    reload: () => command(options.port, "zRELOAD\0"),
    stop: async () => {
      kill(child);
      await exited;
    },
  };
}

function kill(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

/** Sends one command and waits for clamd's reply (RELOAD answers "RELOADING"). */
function command(port: number, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port }, () => socket.write(text));
    socket.setTimeout(5000, () => socket.destroy(new Error("clamd did not answer")));
    socket.once("data", () => {
      socket.destroy();
      resolve();
    });
    socket.once("error", reject);
  });
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
