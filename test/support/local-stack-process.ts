/** Starts the local stack as `npm start` does (a separate process) and reads its ready line. */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { type DevTokenOptions, ensureDevKey, signDevToken } from "../../local/dev-auth.js";

export interface LocalStackProcess {
  api: string;
  s3: string;
  buckets: { media: string; compliance: string; public: string };
  /** Where published renditions are served. */
  publicBaseUrl: string;
  dataDir: string;
  internalApiKey: string;
  /** Every JSON line the stack printed on stdout so far (its structured logs), in order. */
  logs: Record<string, unknown>[];
  /** The stack's stderr so far. */
  stderr(): string;
  token(options: DevTokenOptions): Promise<string>;
  /** Resolves with the process's exit code once it has exited on its own (or been closed). */
  exitCode(): Promise<number | null>;
  /** POST /internal/<name> with the internal key. */
  internal(name: string, payload: unknown): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

/**
 * `options.dataDir` reuses a data directory (a restart on the same data); then close() leaves it
 * in place and the caller removes it.
 */
export async function startLocalStackProcess(env: Record<string, string> = {}, options: { dataDir?: string } = {}): Promise<LocalStackProcess> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "fitkit-local-")));
  const internalApiKey = "test-internal-key";
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "local/main.ts"], {
    env: { ...process.env, PORT: "0", S3_PORT: "0", UPLOADS_DATA_DIR: dataDir, INTERNAL_API_KEY: internalApiKey, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (chunk) => (stderr += String(chunk)));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  const logs: Record<string, unknown>[] = [];
  const ready = await new Promise<{ api: string; s3: string; buckets: { media: string; compliance: string; public: string }; publicBaseUrl: string }>(
    (resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      lines.on("line", (line) => {
        try {
          const event = JSON.parse(line);
          logs.push(event);
          if (event.event === "ready") resolve(event);
        } catch {
          /* not JSON */
        }
      });
      child.once("exit", (code) => reject(new Error(`local stack exited (${code}) before ready:\n${stderr}`)));
    },
  );
  const key = await ensureDevKey(dataDir);

  return {
    ...ready,
    dataDir,
    internalApiKey,
    logs,
    stderr: () => stderr,
    exitCode: () => exited,
    token: (options) => signDevToken(key.privateKeyPem, options),
    internal: async (name, payload) => {
      const res = await fetch(`${ready.api}/internal/${name}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-internal-key": internalApiKey },
        body: JSON.stringify(payload),
      });
      return { status: res.status, body: await res.json() };
    },
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
