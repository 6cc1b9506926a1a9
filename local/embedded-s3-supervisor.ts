/**
 * Keeps the local stack's embedded S3 server running: when its child process dies (a crash, a
 * kill -9) the supervisor logs it and starts a fresh child the same way (startEmbeddedS3, so it
 * still dies with its parent) on the same port and data directory. Restarts are bounded: after
 * MAX_RESTARTS attempts within RESTART_WINDOW_MS it gives up and reports `fatal`, and the stack
 * exits non-zero so whatever supervises the stack can restart it whole.
 */
import { type EmbeddedS3, type EmbeddedS3Options, startEmbeddedS3 } from "./embedded-s3.js";

export type LocalLog = (level: "INFO" | "ERROR", message: string, fields?: Record<string, unknown>) => void;

export interface SupervisedS3 {
  endpoint: string;
  port: number;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** True when a server is running and answers HTTP within `timeoutMs` (a paused one does not). */
  isUp(timeoutMs?: number): Promise<boolean>;
  /** Resolves only if the supervisor gave up; the stack then exits non-zero. */
  fatal: Promise<Error>;
  /** Resolves if the server was stopped on request (SIGTERM/SIGINT to it: it exits 0); it is not restarted. */
  stopped: Promise<void>;
  /** Stops supervising and the server. Idempotent. */
  close(): Promise<void>;
}

export const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;
/** First restart after this; doubled per attempt in the window, capped at MAX_RESTART_DELAY_MS. */
const FIRST_RESTART_DELAY_MS = 250;
const MAX_RESTART_DELAY_MS = 2000;

export async function superviseEmbeddedS3(options: EmbeddedS3Options, log: LocalLog): Promise<SupervisedS3> {
  let current: EmbeddedS3 | null = await startEmbeddedS3(options);
  // Restarts bind the port the first start got (it may have been 0: any free port).
  const port = current.port;
  const endpoint = current.endpoint;
  let closed = false;
  let restartTimer: NodeJS.Timeout | undefined;
  const attempts: number[] = [];
  let giveUp!: (error: Error) => void;
  const fatal = new Promise<Error>((resolve) => (giveUp = resolve));
  let wasStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (wasStopped = resolve));

  const started = (server: EmbeddedS3, restart: number | null): void => {
    log("INFO", "embedded S3 server started", { pid: server.pid, port: server.port, ...(restart ? { restart } : {}) });
    void server.exited.then((exit) => {
      if (closed || current !== server) return;
      current = null;
      // Its SIGTERM/SIGINT handlers exit 0: someone asked it to stop, so the stack stops too.
      if (exit.code === 0) {
        log("INFO", "embedded S3 server stopped on request", { pid: server.pid });
        wasStopped();
        return;
      }
      log("ERROR", "embedded S3 server exited", { pid: server.pid, code: exit.code, signal: exit.signal });
      scheduleRestart();
    });
  };

  const scheduleRestart = (): void => {
    const now = Date.now();
    while (attempts.length > 0 && attempts[0]! <= now - RESTART_WINDOW_MS) attempts.shift();
    if (attempts.length >= MAX_RESTARTS) {
      giveUp(new Error(`the embedded S3 server could not be kept running (${MAX_RESTARTS} restarts within ${RESTART_WINDOW_MS / 1000} s)`));
      return;
    }
    attempts.push(now);
    const restart = attempts.length;
    const delay = Math.min(FIRST_RESTART_DELAY_MS * 2 ** (restart - 1), MAX_RESTART_DELAY_MS);
    restartTimer = setTimeout(async () => {
      if (closed) return;
      try {
        const server = await startEmbeddedS3({ ...options, port });
        if (closed) return void (await server.close());
        current = server;
        started(server, restart);
      } catch (error) {
        log("ERROR", "embedded S3 server could not be restarted", { restart, error: (error as Error).message });
        scheduleRestart();
      }
    }, delay);
  };

  started(current, null);
  return {
    endpoint,
    port,
    region: current.region,
    accessKeyId: current.accessKeyId,
    secretAccessKey: current.secretAccessKey,
    fatal,
    stopped,
    isUp: async (timeoutMs = 1000) => {
      if (!current) return false;
      try {
        // Any HTTP answer (s3rver answers an unsigned GET / with an error document) means it serves.
        await fetch(endpoint, { signal: AbortSignal.timeout(timeoutMs) }).then((res) => res.arrayBuffer());
        return true;
      } catch {
        return false;
      }
    },
    close: async () => {
      closed = true;
      clearTimeout(restartTimer);
      await current?.close();
    },
  };
}
