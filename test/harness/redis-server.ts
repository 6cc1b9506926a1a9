// A real redis-server for the tests, on a free 127.0.0.1 port, with no persistence
// (`--save "" --appendonly no`) and a temp `--dir`. `stop()` kills it (SIGKILL, like a crash) so a
// test can check what happens when Redis goes away; `start()` brings it back on the same port.
//
// No leaks: every redis-server is killed when this process exits (normal exit or SIGINT/SIGTERM/
// SIGHUP), and each one also gets a tiny `sh` watchdog that holds a pipe from this process and
// kills the server when the pipe closes — which also covers this process being SIGKILLed (e.g. a
// test worker killed on timeout), where no exit handler runs.
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants as fsConstants, rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createConnection, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

export interface RedisServer {
  host: string;
  port: number;
  /** redis://127.0.0.1:PORT */
  url: string;
  /** Kill it (SIGKILL), for fault tests. Resolves once the process has exited. No-op if stopped. */
  stop(): Promise<void>;
  /** Start again on the same port; resolves once it answers PING. No-op if running. */
  start(): Promise<void>;
  /** Stop for good and remove the temp dir. Idempotent. */
  close(): Promise<void>;
}

const HOST = "127.0.0.1";
const START_TIMEOUT_MS = 10_000;
const PING_INTERVAL_MS = 10;
const NOT_FOUND_MESSAGE =
  "redis-server not found on PATH: install it (apt-get install redis-server) — the tests need a real Redis";

interface Running {
  server: ChildProcess;
  watchdog: ChildProcess | undefined;
  exited: Promise<void>;
}

/** Every live redis-server and watchdog started by this process, killed on exit. */
const live = new Set<ChildProcess>();
/** Temp dirs not yet removed by close(), removed on exit. */
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

function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

async function freePort(): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error("could not get a free port"))));
    });
  });
}

/** One PING over a raw socket; true if the server answered +PONG. */
async function pingOnce(port: number, timeoutMs = 250): Promise<boolean> {
  return await new Promise<boolean>((resolve) => {
    let settled = false;
    let received = "";
    const socket: Socket = createConnection({ host: HOST, port });
    const done = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.setNoDelay(true);
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      received += chunk.toString("latin1");
      if (received.includes("\r\n")) done(received.startsWith("+PONG"));
    });
    socket.once("error", () => done(false));
    socket.once("close", () => done(false));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Spawns redis-server and waits until it answers PING. Rejects if it exits or never answers. */
async function spawnRedis(binary: string, port: number, dir: string): Promise<Running> {
  installExitHooks();
  const args = [
    "--port", String(port),
    "--bind", HOST,
    "--save", "",
    "--appendonly", "no",
    "--dir", dir,
    "--daemonize", "no",
    "--logfile", "",
    "--loglevel", "warning",
  ];
  const server = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"], cwd: dir });
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
      // Spawn failure (e.g. ENOENT): no "exit" follows.
      spawnError = error;
      live.delete(server);
      resolve();
    });
  });

  // Don't keep the event loop alive just for the server (a forgotten close() must not hang the
  // process; the exit hooks and the watchdog still kill it).
  server.unref();
  (server.stdout as unknown as Socket | null)?.unref();
  (server.stderr as unknown as Socket | null)?.unref();

  let watchdog: ChildProcess | undefined;
  if (server.pid !== undefined) {
    // Reads stdin until EOF (this process gone, however it died), then kills the server and
    // removes its temp dir. Killed first (SIGKILL) by a normal stop/close, so it does nothing then.
    const script = 'read _ignored; kill -9 "$1" 2>/dev/null; rm -rf "$2"';
    watchdog = spawn("/bin/sh", ["-c", script, "redis-watchdog", String(server.pid), dir], {
      stdio: ["pipe", "ignore", "ignore"],
    });
    live.add(watchdog);
    const dog = watchdog;
    dog.once("exit", () => live.delete(dog));
    dog.once("error", () => live.delete(dog)); // no /bin/sh: the exit hooks still cover us
    dog.unref();
    (dog.stdin as unknown as Socket | null)?.unref();
    dog.stdin?.on("error", () => {});
  }

  const running: Running = { server, watchdog, exited };
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (spawnError) {
      if (spawnError.code === "ENOENT") throw new Error(NOT_FOUND_MESSAGE);
      throw new Error(`could not start redis-server: ${spawnError.message}`);
    }
    if (exitedEarly) {
      await killRunning(running);
      throw new Error(`redis-server on port ${port} ${exitedEarly} before answering PING:\n${output.trim()}`);
    }
    if (await pingOnce(port)) return running;
    if (Date.now() > deadline) {
      await killRunning(running);
      throw new Error(`redis-server on port ${port} did not answer PING within ${START_TIMEOUT_MS} ms:\n${output.trim()}`);
    }
    await sleep(PING_INTERVAL_MS);
  }
}

async function killRunning(running: Running): Promise<void> {
  if (running.watchdog) {
    killNow(running.watchdog);
    live.delete(running.watchdog);
  }
  killNow(running.server);
  await running.exited;
  live.delete(running.server);
}

export async function startRedisServer(): Promise<RedisServer> {
  const binary = findOnPath("redis-server");
  if (!binary) throw new Error(NOT_FOUND_MESSAGE);

  const dir = await mkdtemp(join(tmpdir(), "fitkit-redis-"));
  tempDirs.add(dir);
  let port = 0;
  let running: Running | undefined;
  try {
    // The free port is only reserved until we release it: retry if someone grabs it meanwhile.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        running = await spawnRedis(binary, port, dir);
        break;
      } catch (error) {
        if (attempt >= 3 || (error instanceof Error && error.message === NOT_FOUND_MESSAGE)) throw error;
      }
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
    throw error;
  }

  let closed = false;
  // Serialise start/stop/close so concurrent calls don't race.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(task: () => Promise<T>): Promise<T> => {
    const next = queue.then(task, task);
    queue = next.catch(() => undefined);
    return next;
  };

  const stop = async (): Promise<void> => {
    if (!running) return;
    const current = running;
    running = undefined;
    await killRunning(current);
  };

  return {
    host: HOST,
    port,
    url: `redis://${HOST}:${port}`,
    stop: () => serial(stop),
    start: () =>
      serial(async () => {
        if (closed) throw new Error("redis-server harness is closed");
        if (running) return;
        // The port was just released by the killed server; redis uses SO_REUSEADDR, but retry
        // briefly in case the kernel hasn't let go yet.
        let lastError: unknown;
        for (let attempt = 0; attempt < 5; attempt++) {
          try {
            running = await spawnRedis(binary, port, dir);
            return;
          } catch (error) {
            lastError = error;
            if (error instanceof Error && error.message === NOT_FOUND_MESSAGE) break;
            await sleep(100);
          }
        }
        throw lastError;
      }),
    close: () =>
      serial(async () => {
        if (closed) return;
        closed = true;
        await stop();
        await rm(dir, { recursive: true, force: true });
        tempDirs.delete(dir);
      }),
  };
}
