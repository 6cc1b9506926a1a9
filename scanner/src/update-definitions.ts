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

function run(binary: string, args: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ["ignore", "inherit", "inherit"] });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`could not run freshclam: ${error.message}`));
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`freshclam failed (${signal ?? `exit code ${code}`}); nothing was published`));
    });
  });
}
