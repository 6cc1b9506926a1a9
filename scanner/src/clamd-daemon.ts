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
  /**
   * When the definitions clamd has loaded were built: the daily database's build time, from clamd's
   * VERSION reply. Null when no daily database is loaded (clamd then reports no database version).
   */
  definitionsBuiltAt(): Promise<Date | null>;
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
  // clamd parses untrusted files: it gets no environment of ours (no credentials), only TZ=UTC, so
  // the time in its VERSION reply (printed in local time) reads unambiguously.
  const child = spawn(options.binary, ["--foreground", `--config-file=${configPath}`], { stdio: ["ignore", "inherit", "inherit"], env: { TZ: "UTC" } });
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
    reload: async () => {
      await command(HOST, options.port, "zRELOAD\0");
    },
    definitionsBuiltAt: () => readDefinitionsBuiltAt({ host: HOST, port: options.port }),
    stop: async () => {
      kill(child);
      await exited;
    },
  };
}

function kill(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

/** The build time of the daily database a running clamd has loaded (VERSION); null when it has none. */
export async function readDefinitionsBuiltAt(clamd: { host: string; port: number }): Promise<Date | null> {
  return parseVersionReply(await command(clamd.host, clamd.port, "zVERSION\0")).builtAt;
}

/** Sends one z-command and resolves clamd's NUL-terminated reply (RELOAD answers "RELOADING"). */
function command(host: string, port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let reply = "";
    const socket = connect({ host, port }, () => socket.write(text));
    socket.setTimeout(5000, () => socket.destroy(new Error("clamd did not answer")));
    socket.on("data", (chunk: Buffer) => {
      reply += chunk.toString("latin1");
      if (reply.length > 1024) socket.destroy(new Error("clamd's reply is too long"));
      if (!reply.includes("\0")) return;
      socket.destroy();
      resolve(reply.slice(0, reply.indexOf("\0")));
    });
    socket.once("close", () => reject(new Error("clamd closed the connection without a reply")));
    socket.once("error", reject);
  });
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * clamd's VERSION reply: `ClamAV 1.4.6/27777/Fri Dec  4 03:38:34 2026` — the engine, the daily
 * database's version and its build time (the `stime` of daily.cvd/.cld's header, printed by
 * ctime(3) in clamd's time zone: UTC, as started here) — or just `ClamAV 1.4.6` when no daily
 * database is loaded (clamd's session.c, print_ver; libclamav's cvd.c sets it from "daily.*").
 */
export function parseVersionReply(reply: string): { engine: string; databaseVersion: number | null; builtAt: Date | null } {
  const full = /^ClamAV ([^/\s]+)\/(\d+)\/\w{3} (\w{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/.exec(reply.trim());
  if (full) {
    const [, engine, version, month, day, hours, minutes, seconds, year] = full;
    const monthIndex = MONTHS.indexOf(month!);
    if (monthIndex >= 0) {
      const builtAt = new Date(Date.UTC(Number(year), monthIndex, Number(day), Number(hours), Number(minutes), Number(seconds)));
      return { engine: engine!, databaseVersion: Number(version), builtAt };
    }
  }
  const bare = /^ClamAV (\S+)$/.exec(reply.trim());
  if (bare) return { engine: bare[1]!, databaseVersion: null, builtAt: null };
  throw new Error(`unexpected VERSION reply from clamd: ${JSON.stringify(reply.slice(0, 200))}`);
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
