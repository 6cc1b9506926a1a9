// A real clamd (Debian `clamav-daemon`) for the tests, in the foreground on a free 127.0.0.1 TCP
// port, with a generated clamd.conf and a temp DatabaseDirectory that holds only our own test
// signature (freshclam cannot download the official databases here, and the tests need none).
//
// The signature `FitKit.Test.EICAR` is a body signature (.ndb) matching the 68 EICAR bytes at any
// offset, so an upload that *is* EICAR, starts with it, or embeds it is detected. clamd reports
// signatures from unofficial databases with an ".UNOFFICIAL" suffix: the verdict's signature is
// exactly `EICAR_SIGNATURE` ("FitKit.Test.EICAR.UNOFFICIAL").
//
// No leaks: every clamd is killed when this process exits (normal exit or SIGINT/SIGTERM/SIGHUP),
// and each one also gets a tiny `sh` watchdog holding a pipe from this process, which kills clamd
// when the pipe closes — that also covers this process being SIGKILLed (no exit handler runs).
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants as fsConstants, rmSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { pingClamd } from "../../core/src/adapters/clamd/clamd-scanner.js";

export interface ClamdServer {
  host: string;
  port: number;
  /** How long clamd took from spawn to answering PING, in ms. */
  startupMs: number;
  /** Kill it (SIGKILL, like a crash), for fault tests. Resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
  /** Stop for good and remove the temp dir. Idempotent. */
  close(): Promise<void>;
}

export interface StartClamdOptions {
  /**
   * clamd's StreamMaxLength (and MaxFileSize), in clamd's SIZE syntax ("100M", "512K", bytes).
   * Default "100M". A small value lets a test hit "INSTREAM size limit exceeded".
   */
  streamMaxLength?: string;
}

/** The standard 68-byte EICAR anti-virus test string. */
export const EICAR = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
/** The signature name clamd reports for EICAR with the harness's database. */
export const EICAR_SIGNATURE = "FitKit.Test.EICAR.UNOFFICIAL";

const HOST = "127.0.0.1";
const START_TIMEOUT_MS = 60_000;
const PING_INTERVAL_MS = 20;
const NOT_FOUND_MESSAGE = "clamd not found: apt-get install clamav-daemon — the scanning tests need a real clamd";
/** Where Debian puts clamd (/usr/sbin is often not on a non-root PATH). */
const EXTRA_DIRS = ["/usr/sbin", "/usr/local/sbin", "/sbin"];

interface Running {
  server: ChildProcess;
  watchdog: ChildProcess | undefined;
  exited: Promise<void>;
}

const live = new Set<ChildProcess>();
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

function findClamd(): string | undefined {
  const fromEnv = process.env.CLAMD_BIN;
  const candidates = fromEnv
    ? [fromEnv]
    : [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), ...EXTRA_DIRS].map((dir) => join(dir, "clamd"));
  for (const candidate of candidates) {
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

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function clamdConfig(port: number, dir: string, streamMaxLength: string): string {
  return [
    `TCPSocket ${port}`,
    `TCPAddr ${HOST}`,
    "Foreground yes",
    `DatabaseDirectory ${join(dir, "db")}`,
    `TemporaryDirectory ${join(dir, "tmp")}`,
    `StreamMaxLength ${streamMaxLength}`,
    // Files over MaxFileSize are NOT scanned and reported "OK": keep it ≥ StreamMaxLength, and
    // flag anything over a limit instead of passing it silently.
    `MaxFileSize ${streamMaxLength}`,
    "MaxScanSize 400M",
    "AlertExceedsMax yes",
    "Bytecode no",
    "SelfCheck 3600",
    "LogVerbose no",
    "LogClean no",
    "",
  ].join("\n");
}

/** Body signature: name:target type (0 = any):offset (* = anywhere):hex bytes. */
function eicarSignatureDb(): string {
  return `FitKit.Test.EICAR:0:*:${Buffer.from(EICAR, "latin1").toString("hex")}\n`;
}

async function spawnClamd(binary: string, port: number, dir: string, streamMaxLength: string): Promise<Running> {
  installExitHooks();
  const configPath = join(dir, `clamd-${port}.conf`);
  await writeFile(configPath, clamdConfig(port, dir, streamMaxLength));

  const server = spawn(binary, ["--foreground", `--config-file=${configPath}`], { stdio: ["ignore", "pipe", "pipe"], cwd: dir });
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
      spawnError = error; // spawn failure: no "exit" follows
      live.delete(server);
      resolve();
    });
  });

  // A forgotten close() must not keep the process alive (the hooks and the watchdog still kill it).
  server.unref();
  (server.stdout as unknown as Socket | null)?.unref();
  (server.stderr as unknown as Socket | null)?.unref();

  let watchdog: ChildProcess | undefined;
  if (server.pid !== undefined) {
    // Reads stdin until EOF (this process gone, however it died), then kills clamd and removes
    // the temp dir. A normal stop/close kills the watchdog first, so it does nothing then.
    const script = 'read _ignored; kill -9 "$1" 2>/dev/null; rm -rf "$2"';
    watchdog = spawn("/bin/sh", ["-c", script, "clamd-watchdog", String(server.pid), dir], {
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
      throw new Error(`could not start clamd: ${spawnError.message}`);
    }
    if (exitedEarly) {
      await killRunning(running);
      throw new Error(`clamd on port ${port} ${exitedEarly} before answering PING:\n${output.trim()}`);
    }
    if (await pingClamd({ host: HOST, port, timeoutMs: 500 })) return running;
    if (Date.now() > deadline) {
      await killRunning(running);
      throw new Error(`clamd on port ${port} did not answer PING within ${START_TIMEOUT_MS} ms:\n${output.trim()}`);
    }
    await sleep(PING_INTERVAL_MS);
  }
}

async function killRunning(running: Running): Promise<void> {
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

/** Starts a real clamd and resolves once it answers PING. Throws if clamd is not installed. */
export async function startClamd(options: StartClamdOptions = {}): Promise<ClamdServer> {
  const binary = findClamd();
  if (!binary) throw new Error(NOT_FOUND_MESSAGE);
  const streamMaxLength = options.streamMaxLength ?? "100M";

  const dir = await mkdtemp(join(tmpdir(), "fitkit-clamd-"));
  tempDirs.add(dir);
  let port = 0;
  let running: Running | undefined;
  let startupMs = 0;
  try {
    await mkdir(join(dir, "db"));
    await mkdir(join(dir, "tmp"));
    await writeFile(join(dir, "db", "fitkit-test.ndb"), eicarSignatureDb());
    // The free port is only reserved until we release it: retry if someone grabs it meanwhile.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const started = performance.now();
      try {
        running = await spawnClamd(binary, port, dir, streamMaxLength);
        startupMs = Math.round(performance.now() - started);
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
    startupMs,
    stop: () => serial(stop),
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
