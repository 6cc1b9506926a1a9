/**
 * The scheduled definitions update: fetch the bucket's current definitions (so freshclam only
 * downloads what is new, and keeps its mirror cool-down state), run freshclam, publish what changed.
 * A failed freshclam fails the invocation (the alarm on the updater's errors says so) and publishes
 * nothing.
 */
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { userInfo } from "node:os";
import { join } from "node:path";
import { type DefinitionsBucket, downloadDefinitions, fingerprint, uploadDefinitions } from "./definitions.js";

export interface UpdateDefinitionsOptions {
  store: DefinitionsBucket;
  /** The freshclam binary (Debian: /usr/bin/freshclam). */
  binary: string;
  /** Local working copy of the definitions (Lambda: under /tmp). */
  directory: string;
  /** Where freshclam.conf is written. */
  workDirectory: string;
  /** ClamAV's mirror by default; a private mirror (`http://host:port`) if you run one. */
  mirror?: string;
  timeoutMs?: number;
}

export interface UpdateReport {
  uploaded: string[];
  deleted: string[];
}

export function freshclamConfig(options: Pick<UpdateDefinitionsOptions, "directory" | "mirror">): string {
  return [
    `DatabaseDirectory ${options.directory}`,
    // freshclam run as root switches to this user: stay who we are (Lambda never runs as root).
    `DatabaseOwner ${userInfo().username}`,
    options.mirror ? `PrivateMirror ${options.mirror}` : "DatabaseMirror database.clamav.net",
    "Foreground yes",
    "LogTime no",
    // One attempt per run: the schedule is the retry, and ClamAV's mirrors punish hammering.
    "MaxAttempts 1",
    "ConnectTimeout 30",
    "ReceiveTimeout 120",
    // By default freshclam loads every new database into a libclamav engine to test it before
    // replacing the old one: main.cvd alone needs about 1 GB that way, more than the updater has
    // (stacks/scanner.ts). The databases are signed and freshclam still checks those signatures;
    // the scanners load them for real and fail loudly (ScanErrors alarm) if one does not load.
    "TestDatabases no",
    // No clamd to notify here: the scanners load the new files from the bucket.
    "",
  ].join("\n");
}

export async function updateDefinitions(options: UpdateDefinitionsOptions): Promise<UpdateReport> {
  await downloadDefinitions(options.store, options.directory);
  const before = await fingerprint(options.directory);
  const configPath = join(options.workDirectory, "freshclam.conf");
  await writeFile(configPath, freshclamConfig(options));
  await run(options.binary, [`--config-file=${configPath}`, "--stdout"], options.timeoutMs ?? 600_000);
  return uploadDefinitions(options.store, options.directory, before);
}

/** freshclam's error lines kept for the failure message (the full output goes to the log). */
const ERROR_LINES_KEPT = 2;

function run(binary: string, args: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    // No environment of ours (the function's credentials stay out of the downloader's reach).
    const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"], env: {} });
    const errors: string[] = [];
    let partial = "";
    const collect = (chunk: Buffer, to: NodeJS.WriteStream) => {
      to.write(chunk);
      const lines = (partial + chunk.toString("utf8")).split("\n");
      partial = lines.pop()!.slice(-1000);
      for (const line of lines.filter((candidate) => candidate.startsWith("ERROR:"))) {
        errors.push(line.trim().slice(0, 300));
        if (errors.length > ERROR_LINES_KEPT) errors.shift();
      }
    };
    child.stdout.on("data", (chunk: Buffer) => collect(chunk, process.stdout));
    child.stderr.on("data", (chunk: Buffer) => collect(chunk, process.stderr));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`could not run freshclam: ${error.message}`));
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else {
        const said = errors.length > 0 ? `: ${errors.join(" / ")}` : "";
        reject(new Error(`freshclam failed (${signal ?? `exit code ${code}`})${said}; nothing was published`));
      }
    });
  });
}
