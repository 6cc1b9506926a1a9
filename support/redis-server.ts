// A real redis-server for the tests, on a free 127.0.0.1 port, with no persistence unless asked (AOF)
// (`--save "" --appendonly no`) and a temp `--dir`. `stop()` kills it (SIGKILL, like a crash) so a
// test can check what happens when Redis goes away; `start()` brings it back on the same port.
//
// No leaks: see child-processes.ts (exit hooks, plus an `sh` watchdog per server that also covers
// this process being SIGKILLed).
import { createConnection, type Socket } from "node:net";
import {
  ExecutableNotFoundError,
  findOnPath,
  LOCALHOST as HOST,
  makeTempDir,
  removeTempDir,
  type ServerProcess,
  serverControls,
  sleep,
  spawnServer,
  startOnFreePort,
} from "./child-processes.js";

export interface RedisServer {
  host: string;
  port: number;
  /** redis://127.0.0.1:PORT */
  url: string;
  /** The server's process id (for pausing it with SIGSTOP); throws while stopped. */
  pid(): number;
  /** Kill it (SIGKILL), for fault tests. Resolves once the process has exited. No-op if stopped. */
  stop(): Promise<void>;
  /** Start again on the same port; resolves once it answers PING. No-op if running. */
  start(): Promise<void>;
  /** Stop for good and remove the temp dir. Idempotent. */
  close(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;
const PING_INTERVAL_MS = 10;
const NOT_FOUND_MESSAGE = "redis-server not found on PATH: install it (apt-get install redis-server) — the tests need a real Redis";

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

/** Spawns redis-server and waits until it answers PING. Rejects if it exits or never answers. */
async function spawnRedis(binary: string, port: number, dir: string, appendOnly: boolean): Promise<ServerProcess> {
  const args = [
    "--port",
    String(port),
    "--bind",
    HOST,
    "--save",
    "",
    // With AOF, fsync every write: a SIGKILLed server comes back with every acknowledged write.
    ...(appendOnly ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]),
    "--dir",
    dir,
    "--daemonize",
    "no",
    "--logfile",
    "",
    "--loglevel",
    "warning",
  ];
  return await spawnServer({
    name: "redis-server",
    binary,
    args,
    dir,
    port,
    notFoundMessage: NOT_FOUND_MESSAGE,
    isReady: () => pingOnce(port),
    timeoutMs: START_TIMEOUT_MS,
    pollIntervalMs: PING_INTERVAL_MS,
  });
}

/** `appendOnly`: persist every write (AOF) in the server's directory, so stop() then start() keeps the data. */
export async function startRedisServer(options: { appendOnly?: boolean } = {}): Promise<RedisServer> {
  const appendOnly = options.appendOnly ?? false;
  const binary = findOnPath("redis-server");
  if (!binary) throw new ExecutableNotFoundError(NOT_FOUND_MESSAGE);

  const dir = await makeTempDir("fitkit-redis-");
  let port: number;
  let running: ServerProcess;
  try {
    ({ port, value: running } = await startOnFreePort((candidate) => spawnRedis(binary, candidate, dir, appendOnly)));
  } catch (error) {
    await removeTempDir(dir);
    throw error;
  }

  const controls = serverControls("redis-server", dir, running);
  return {
    host: HOST,
    port,
    url: `redis://${HOST}:${port}`,
    pid: () => {
      const pid = controls.pid();
      if (pid === undefined) throw new Error("redis-server is stopped");
      return pid;
    },
    stop: () => controls.stop(),
    start: () =>
      controls.start(async () => {
        // The port was just released by the killed server; redis uses SO_REUSEADDR, but retry
        // briefly in case the kernel hasn't let go yet.
        let lastError: unknown;
        for (let attempt = 0; attempt < 5; attempt++) {
          try {
            return await spawnRedis(binary, port, dir, appendOnly);
          } catch (error) {
            lastError = error;
            if (error instanceof ExecutableNotFoundError) break;
            await sleep(100);
          }
        }
        throw lastError;
      }),
    close: () => controls.close(),
  };
}
