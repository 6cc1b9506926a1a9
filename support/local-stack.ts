// The local stack as `npm start` runs it (a separate process on loopback), for the tests, the
// benches, the load test and the chaos suite: its ready line, its structured logs, dev tokens and
// internal calls, the pids of the stack and of its supervised embedded S3 child (to pause or kill
// them), and a SIGKILL-and-restart on the same ports and data directory (so presigned URLs and
// the persisted state survive it).
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { type DevTokenOptions, ensureDevKey, signDevToken } from "../local/dev-auth.js";
import { makeTempDir, removeTempDir, sleep } from "./child-processes.js";

export interface LocalStack {
  api: string;
  s3: string;
  buckets: { media: string; compliance: string; records: string; public: string };
  /** Where published renditions are served. */
  publicBaseUrl: string;
  dataDir: string;
  internalApiKey: string;
  /** Every JSON line the stack printed on stdout since it last started (its structured logs), in order. */
  logs: Record<string, unknown>[];
  /** The stack's stderr since it last started. */
  stderr(): string;
  /** The stack's process id (the node process running local/main.ts). */
  pid(): number;
  /** The embedded S3 server's process id: the stack's child, found afresh (the supervisor may have replaced it). */
  s3Pid(): Promise<number>;
  token(options: DevTokenOptions): Promise<string>;
  /** Resolves with the process's exit code once it has exited on its own (or been closed). */
  exitCode(): Promise<number | null>;
  /** POST /internal/<operation> with the internal key; `timeoutMs` bounds the wait. */
  internal(operation: string, payload: unknown, timeoutMs?: number): Promise<{ status: number; body: any }>;
  /** SIGKILL the stack (its S3 child follows it), then start it again on the same ports and data. */
  killAndRestart(): Promise<void>;
  close(): Promise<void>;
}

export interface LocalStackOptions {
  /** Reuse a data directory (a restart on the same data); close() then leaves it for the caller to remove. */
  dataDir?: string;
  /** Extra Node options for the stack's process (e.g. `--cpu-prof`, which NODE_OPTIONS may not carry). */
  nodeArgs?: string[];
}

interface ReadyLine {
  api: string;
  s3: string;
  buckets: LocalStack["buckets"];
  publicBaseUrl: string;
}

const INTERNAL_API_KEY = "local-stack-internal-key";
const READY_TIMEOUT_MS = 90_000;

/**
 * Starts the stack with `env` added to this process's environment. The first start lets the
 * system pick free ports; a restart binds the ones it got.
 */
export async function startLocalStack(env: Record<string, string> = {}, options: LocalStackOptions = {}): Promise<LocalStack> {
  const dataDir = options.dataDir ?? (await makeTempDir("fitkit-local-"));
  let ports = { api: "0", s3: "0" };
  let child: ChildProcess;
  let exited: Promise<number | null>;
  let stderr = "";
  const logs: Record<string, unknown>[] = [];
  let ready: ReadyLine;

  async function start(): Promise<void> {
    stderr = "";
    logs.length = 0;
    const started = spawn(process.execPath, [...(options.nodeArgs ?? []), "--import", "tsx", "local/main.ts"], {
      env: { ...process.env, PORT: ports.api, S3_PORT: ports.s3, UPLOADS_DATA_DIR: dataDir, INTERNAL_API_KEY, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = started;
    exited = new Promise((resolve) => started.once("exit", (code) => resolve(code)));
    started.stderr!.on("data", (chunk) => (stderr += String(chunk)));
    ready = await new Promise<ReadyLine>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`local stack not ready after ${READY_TIMEOUT_MS} ms:\n${stderr}`)), READY_TIMEOUT_MS);
      // Reading every line also keeps the stdout pipe draining, or the stack would block on its own logs.
      createInterface({ input: started.stdout! }).on("line", (line) => {
        if (!line.startsWith("{")) return;
        try {
          const event = JSON.parse(line);
          logs.push(event);
          if (event.event === "ready") {
            clearTimeout(timer);
            resolve(event);
          }
        } catch {
          /* a log line that is not JSON */
        }
      });
      started.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`local stack exited (${code}) before ready:\n${stderr}`));
      });
    });
    ports = { api: new URL(ready.api).port, s3: new URL(ready.s3).port };
  }

  const alive = () => child.exitCode === null && child.signalCode === null;
  const s3ChildPid = (): number => {
    try {
      return (
        Number(
          execFileSync("ps", ["-o", "pid=", "--ppid", String(child.pid)], { encoding: "utf8" })
            .trim()
            .split(/\s+/)[0],
        ) || 0
      );
    } catch {
      return 0; // ps exits non-zero when the stack has no child
    }
  };
  await start();
  const key = await ensureDevKey(dataDir);

  return {
    get api() {
      return ready.api;
    },
    get s3() {
      return ready.s3;
    },
    get buckets() {
      return ready.buckets;
    },
    get publicBaseUrl() {
      return ready.publicBaseUrl;
    },
    dataDir,
    internalApiKey: INTERNAL_API_KEY,
    logs,
    stderr: () => stderr,
    pid: () => child.pid!,
    s3Pid: async () => {
      for (let attempt = 0; attempt < 100; attempt++) {
        const pid = s3ChildPid();
        if (pid > 0) return pid;
        await sleep(100);
      }
      throw new Error("the embedded S3 server has no process");
    },
    token: (options) => signDevToken(key.privateKeyPem, options),
    exitCode: () => exited,
    internal: async (operation, payload, timeoutMs = 60_000) => {
      const res = await fetch(`${ready.api}/internal/${operation}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-internal-key": INTERNAL_API_KEY },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
    killAndRestart: async () => {
      const s3 = s3ChildPid();
      child.kill("SIGKILL");
      await exited;
      // The S3 child notices its parent is gone and exits; wait for its port to be free.
      for (let i = 0; s3 > 0 && i < 100; i++) {
        try {
          process.kill(s3, 0);
          await sleep(100);
        } catch {
          break;
        }
      }
      await start();
    },
    close: async () => {
      if (alive()) {
        const stopped = once(child, "exit");
        child.kill("SIGTERM");
        await stopped;
      }
      if (!options.dataDir) await removeTempDir(dataDir);
    },
  };
}
