// Child-process plumbing shared by the harnesses that run a real server binary (redis-server.ts,
// clamd.ts): find the binary, pick a free port, spawn the server in a temp dir, wait until it
// answers, kill it — and make sure it never outlives the test process.
//
// No leaks: every child spawned here is SIGKILLed, and every tracked temp dir removed, when this
// process exits (normal exit or SIGINT/SIGTERM/SIGHUP). Each server also gets a tiny `sh` watchdog
// that holds a pipe from this process and kills the server when the pipe closes — which also
// covers this process being SIGKILLed (e.g. a test worker killed on timeout), where no exit
// handler runs.
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants as fsConstants, rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

export const LOCALHOST = "127.0.0.1";

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Thrown when a server binary is missing, so callers can stop retrying and show the hint. */
export class ExecutableNotFoundError extends Error {}

// ---------------------------------------------------------------------------------------------
// Cleanup on exit: one set of hooks per process, whichever harnesses it uses.

/** Every live server and watchdog started by this process, killed on exit. */
const live = new Set<ChildProcess>();
/** Temp dirs not yet removed by removeTempDir(), removed on exit. */
const tempDirs = new Set<string>();
let exitHooksInstalled = false;

function killNow(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}

function killAllNow(): void {
  for (const child of live) killNow(child);
  live.clear();
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
  tempDirs.clear();
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.once("exit", killAllNow);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = (): void => {
      killAllNow();
      process.removeListener(signal, onSignal);
      // If nobody else handles this signal, keep its default behaviour (terminate).
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/** mkdtemp under the OS temp dir, removed on exit unless removeTempDir() gets there first. */
export async function makeTempDir(prefix: string): Promise<string> {
  installExitHooks();
  const dir = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

// ---------------------------------------------------------------------------------------------
// Finding binaries and ports.

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable `command` in $PATH, then in `extraDirs`; undefined if none. */
export function findOnPath(command: string, extraDirs: readonly string[] = []): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), ...extraDirs].filter(Boolean);
  return dirs.map((dir) => join(dir, command)).find(isExecutable);
}

/** A port that was free a moment ago: someone may grab it before we bind, see startOnFreePort. */
export async function freePort(host: string = LOCALHOST): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error("could not get a free port"))));
    });
  });
}

/**
 * Runs `start(port)` on a fresh free port, retrying (up to `attempts` times) if it fails — the
 * port is only reserved until we release it. A missing binary is not retried.
 */
export async function startOnFreePort<T>(start: (port: number) => Promise<T>, attempts = 3): Promise<{ port: number; value: T }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return { port, value: await start(port) };
    } catch (error) {
      if (attempt >= attempts || error instanceof ExecutableNotFoundError) throw error;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Spawning and killing a server.

/** A running server process and its watchdog. */
export interface ServerProcess {
  server: ChildProcess;
  watchdog: ChildProcess | undefined;
  /** Resolves once the server has exited (or failed to spawn). */
  exited: Promise<void>;
}

export interface SpawnServerOptions {
  /** Names the server in errors and in the watchdog's command line, e.g. "redis-server". */
  name: string;
  binary: string;
  args: readonly string[];
  /** The server's working directory; the watchdog removes it if this process dies. */
  dir: string;
  /** Only for error messages. */
  port: number;
  /** Thrown (as ExecutableNotFoundError) if the binary cannot be spawned (ENOENT). */
  notFoundMessage: string;
  /** One readiness probe (e.g. a PING); polled until true. */
  isReady: () => Promise<boolean>;
  timeoutMs: number;
  pollIntervalMs: number;
  /** The server's environment; the test process's own when unset. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Spawns the server with a watchdog and resolves once `isReady()` is true. Rejects (having killed
 * it) if it exits first or is not ready within `timeoutMs`; the error includes its last output.
 */
export async function spawnServer(options: SpawnServerOptions): Promise<ServerProcess> {
  const { name, port, dir } = options;
  installExitHooks();
  const server = spawn(options.binary, options.args, { stdio: ["ignore", "pipe", "pipe"], cwd: dir, ...(options.env ? { env: options.env } : {}) });
  live.add(server);

  let output = "";
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString("utf8")).slice(-4000);
  };
  server.stdout?.on("data", collect);
  server.stderr?.on("data", collect);

  let exitedEarly: string | undefined;
  let spawnError: NodeJS.ErrnoException | undefined;
  const exited = new Promise<void>((resolve) => {
    server.once("exit", (code, signal) => {
      live.delete(server);
      exitedEarly = `exited with ${signal ?? `code ${code}`}`;
      resolve();
    });
    server.once("error", (error: NodeJS.ErrnoException) => {
      spawnError = error; // spawn failure (e.g. ENOENT): no "exit" follows
      live.delete(server);
      resolve();
    });
  });

  // A forgotten close() must not keep the process alive (the hooks and the watchdog still kill it).
  server.unref();
  (server.stdout as unknown as Socket | null)?.unref();
  (server.stderr as unknown as Socket | null)?.unref();

  const running: ServerProcess = { server, watchdog: spawnWatchdog(name, server, dir), exited };
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (spawnError) {
      if (spawnError.code === "ENOENT") throw new ExecutableNotFoundError(options.notFoundMessage);
      throw new Error(`could not start ${name}: ${spawnError.message}`);
    }
    if (exitedEarly) {
      await killServer(running);
      throw new Error(`${name} on port ${port} ${exitedEarly} before answering PING:\n${output.trim()}`);
    }
    if (await options.isReady()) return running;
    if (Date.now() > deadline) {
      await killServer(running);
      throw new Error(`${name} on port ${port} did not answer PING within ${options.timeoutMs} ms:\n${output.trim()}`);
    }
    await sleep(options.pollIntervalMs);
  }
}

/**
 * Reads stdin until EOF (this process gone, however it died), then kills the server and removes
 * its temp dir. A normal stop/close kills the watchdog first (SIGKILL), so it does nothing then.
 */
function spawnWatchdog(name: string, server: ChildProcess, dir: string): ChildProcess | undefined {
  if (server.pid === undefined) return undefined;
  const script = 'read _ignored; kill -9 "$1" 2>/dev/null; rm -rf "$2"';
  const dog = spawn("/bin/sh", ["-c", script, `${name}-watchdog`, String(server.pid), dir], {
    stdio: ["pipe", "ignore", "ignore"],
  });
  live.add(dog);
  dog.once("exit", () => live.delete(dog));
  dog.once("error", () => live.delete(dog)); // no /bin/sh: the exit hooks still cover us
  dog.unref();
  (dog.stdin as unknown as Socket | null)?.unref();
  dog.stdin?.on("error", () => {});
  return dog;
}

/** SIGKILLs the watchdog, then the server (like a crash); resolves once the server has exited. */
async function killServer(running: ServerProcess): Promise<void> {
  if (running.watchdog) {
    killNow(running.watchdog);
    live.delete(running.watchdog);
  }
  // The child is unref'd; ref it while we wait, or a plain script (no vitest worker keeping the
  // loop alive) would exit mid-await.
  running.server.ref();
  killNow(running.server);
  await running.exited;
  live.delete(running.server);
}

/** Runs async tasks one after another (even if one fails), so start/stop/close never race. */
function serialized(): <T>(task: () => Promise<T>) => Promise<T> {
  let queue: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>): Promise<T> => {
    const next = queue.then(task, task);
    queue = next.catch(() => undefined);
    return next;
  };
}

/**
 * SIGSTOPs `pid` — the process keeps its sockets (connections are accepted by the kernel) but
 * answers nothing, like a stalled dependency — runs `action`, and SIGCONTs it whatever happens.
 */
export async function whilePaused<T>(pid: number, action: () => Promise<T>): Promise<T> {
  process.kill(pid, "SIGSTOP");
  try {
    return await action();
  } finally {
    process.kill(pid, "SIGCONT");
  }
}

/** stop/start/close for one server in its own temp dir, as the harness handles expose them. */
export interface ServerControls {
  /** The running server's process id (undefined while stopped). */
  pid(): number | undefined;
  /** SIGKILL the server (like a crash); resolves once it has exited. No-op if stopped. */
  stop(): Promise<void>;
  /** Runs `respawn` unless the server is running; throws once closed. */
  start(respawn: () => Promise<ServerProcess>): Promise<void>;
  /** Stop for good and remove the temp dir. Idempotent. */
  close(): Promise<void>;
}

/** Controls for a started server. All calls are serialised, so concurrent ones don't race. */
export function serverControls(name: string, dir: string, first: ServerProcess): ServerControls {
  let running: ServerProcess | undefined = first;
  let closed = false;
  const serial = serialized();
  const stop = async (): Promise<void> => {
    if (!running) return;
    const current = running;
    running = undefined;
    await killServer(current);
  };
  return {
    pid: () => running?.server.pid,
    stop: () => serial(stop),
    start: (respawn) =>
      serial(async () => {
        if (closed) throw new Error(`${name} harness is closed`);
        if (running) return;
        running = await respawn();
      }),
    close: () =>
      serial(async () => {
        if (closed) return;
        closed = true;
        await stop();
        await removeTempDir(dir);
      }),
  };
}
