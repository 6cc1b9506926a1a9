// The local stack as `npm start` runs it (a separate process on loopback), for the load test and
// the chaos suite: fixed ports and one data directory across restarts (so presigned URLs and the
// persisted state survive a SIGKILL of the whole stack), the pids of the stack and of its
// supervised embedded S3 child (to pause or kill them), dev tokens and internal calls.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { type DevTokenOptions, ensureDevKey, signDevToken } from "../local/dev-auth.js";
import { freePort, makeTempDir, removeTempDir, sleep } from "./child-processes.js";

export interface LocalStackRun {
  api: string;
  s3: string;
  buckets: { media: string; compliance: string };
  dataDir: string;
  /** The stack's process id (the node process running local/main.ts). */
  pid(): number;
  /** The embedded S3 server's process id: the stack's child, found afresh (the supervisor may have replaced it). */
  s3Pid(): Promise<number>;
  token(options: DevTokenOptions): Promise<string>;
  /** POST /internal/<operation> with the internal key; `timeoutMs` bounds the wait. */
  internal(operation: string, payload: unknown, timeoutMs?: number): Promise<{ status: number; body: any }>;
  /** SIGKILL the stack (its S3 child follows it), then start it again on the same ports and data. */
  killAndRestart(): Promise<void>;
  /** The stack's stderr since it last started. */
  stderr(): string;
  close(): Promise<void>;
}

const INTERNAL_API_KEY = "local-stack-run-key";
const READY_TIMEOUT_MS = 60_000;

/** Starts the stack with `env` added to this process's environment (loopback ports picked here). */
export async function startLocalStackRun(env: Record<string, string> = {}): Promise<LocalStackRun> {
  const dataDir = await makeTempDir("fitkit-stack-run-");
  const [port, s3Port] = [await freePort(), await freePort()];
  let child: ChildProcess;
  let stderr = "";
  let ready: { api: string; s3: string; buckets: { media: string; compliance: string } };

  async function start(): Promise<void> {
    stderr = "";
    child = spawn(process.execPath, ["--import", "tsx", "local/main.ts"], {
      env: { ...process.env, PORT: String(port), S3_PORT: String(s3Port), UPLOADS_DATA_DIR: dataDir, INTERNAL_API_KEY, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stderr!.on("data", (chunk) => (stderr += String(chunk)));
    const started = child;
    ready = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`local stack not ready after ${READY_TIMEOUT_MS} ms:\n${stderr}`)), READY_TIMEOUT_MS);
      createInterface({ input: started.stdout! }).on("line", (line) => {
        if (!line.startsWith("{")) return;
        try {
          const event = JSON.parse(line);
          if (event.event === "ready") {
            clearTimeout(timer);
            resolve(event);
          }
        } catch {
          /* a log line that is not JSON */
        }
      });
      started.once("exit", (code) => reject(new Error(`local stack exited (${code}) before ready:\n${stderr}`)));
    });
    // The stdout pipe must keep draining, or the stack blocks on its own logs.
    started.stdout!.resume();
  }

  const alive = () => child.exitCode === null && child.signalCode === null;
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
    dataDir,
    pid: () => child.pid!,
    s3Pid: async () => {
      for (let attempt = 0; attempt < 100; attempt++) {
        const out = execFileSync("ps", ["-o", "pid=", "--ppid", String(child.pid)], { encoding: "utf8" }).trim();
        const pid = Number(out.split(/\s+/)[0]);
        if (pid > 0) return pid;
        await sleep(100);
      }
      throw new Error("the embedded S3 server has no process");
    },
    token: (options) => signDevToken(key.privateKeyPem, options),
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
      const s3 = await (async () => {
        try {
          return Number(
            execFileSync("ps", ["-o", "pid=", "--ppid", String(child.pid)], { encoding: "utf8" })
              .trim()
              .split(/\s+/)[0],
          );
        } catch {
          return 0;
        }
      })();
      const exited = once(child, "exit");
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
    stderr: () => stderr,
    close: async () => {
      if (alive()) {
        const exited = once(child, "exit");
        child.kill("SIGTERM");
        await exited;
      }
      await removeTempDir(dataDir);
    },
  };
}
