// A real clamd (Debian `clamav-daemon`) for the tests, in the foreground on a free 127.0.0.1 TCP
// port, with a generated clamd.conf and a temp DatabaseDirectory that holds only our own test
// signature (freshclam cannot download the official databases here, and the tests need none).
//
// The signature `FitKit.Test.EICAR` is a body signature (.ndb) matching the 68 EICAR bytes at any
// offset, so an upload that *is* EICAR, starts with it, or embeds it is detected. clamd reports
// signatures from unofficial databases with an ".UNOFFICIAL" suffix: the verdict's signature is
// exactly `EICAR_SIGNATURE` ("FitKit.Test.EICAR.UNOFFICIAL").
//
// It also holds a daily database (clamd-databases.ts) built at a time the test chooses (default: at
// start), as the official daily.cvd/.cld would be, so clamd's VERSION reply carries a build time the
// scanner's staleness check reads. clamd runs with TZ=UTC only, as the scanner image starts it.
//
// No leaks: see child-processes.ts (exit hooks, plus an `sh` watchdog per server that also covers
// this process being SIGKILLed).
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pingClamd } from "@fitkit/core/adapters/clamd/clamd-scanner";
import {
  ExecutableNotFoundError,
  findOnPath,
  LOCALHOST as HOST,
  isExecutable,
  makeTempDir,
  removeTempDir,
  type ServerProcess,
  serverControls,
  spawnServer,
  startOnFreePort,
} from "./child-processes.js";
import { writeDailyDatabase } from "./clamd-databases.js";

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
  /** The daily database's build time (default: now); null for no daily database at all. */
  definitionsBuiltAt?: Date | null;
}

/** The standard 68-byte EICAR anti-virus test string. */
export const EICAR = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
/** The signature name clamd reports for EICAR with the harness's database. */
export const EICAR_SIGNATURE = "FitKit.Test.EICAR.UNOFFICIAL";

const START_TIMEOUT_MS = 60_000;
const PING_INTERVAL_MS = 20;
const NOT_FOUND_MESSAGE = "clamd not found: apt-get install clamav-daemon — the scanning tests need a real clamd";
/** Where Debian puts clamd (/usr/sbin is often not on a non-root PATH). */
const EXTRA_DIRS = ["/usr/sbin", "/usr/local/sbin", "/sbin"];

function findClamd(): string | undefined {
  const fromEnv = process.env.CLAMD_BIN;
  if (fromEnv) return isExecutable(fromEnv) ? fromEnv : undefined;
  return findOnPath("clamd", EXTRA_DIRS);
}

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

/** The daily database's one signature: a marker no upload carries by chance. */
const DAILY_MARKER_SIGNATURE = `FitKit.Test.Daily.Marker:0:*:${Buffer.from("FITKIT-DAILY-DATABASE-MARKER-7c1e0b", "latin1").toString("hex")}`;

/** Body signature: name:target type (0 = any):offset (* = anywhere):hex bytes. */
function eicarSignatureDb(): string {
  return `FitKit.Test.EICAR:0:*:${Buffer.from(EICAR, "latin1").toString("hex")}\n`;
}

async function spawnClamd(binary: string, port: number, dir: string, streamMaxLength: string): Promise<ServerProcess> {
  const configPath = join(dir, `clamd-${port}.conf`);
  await writeFile(configPath, clamdConfig(port, dir, streamMaxLength));
  return await spawnServer({
    name: "clamd",
    binary,
    args: ["--foreground", `--config-file=${configPath}`],
    dir,
    port,
    notFoundMessage: NOT_FOUND_MESSAGE,
    isReady: () => pingClamd({ host: HOST, port, timeoutMs: 500 }),
    env: { TZ: "UTC" },
    timeoutMs: START_TIMEOUT_MS,
    pollIntervalMs: PING_INTERVAL_MS,
  });
}

/** Starts a real clamd and resolves once it answers PING. Throws if clamd is not installed. */
export async function startClamd(options: StartClamdOptions = {}): Promise<ClamdServer> {
  const binary = findClamd();
  if (!binary) throw new ExecutableNotFoundError(NOT_FOUND_MESSAGE);
  const streamMaxLength = options.streamMaxLength ?? "100M";

  const dir = await makeTempDir("fitkit-clamd-");
  let port: number;
  let running: ServerProcess;
  let startupMs = 0;
  try {
    await mkdir(join(dir, "db"));
    await mkdir(join(dir, "tmp"));
    await writeFile(join(dir, "db", "fitkit-test.ndb"), eicarSignatureDb());
    const builtAt = options.definitionsBuiltAt === undefined ? new Date() : options.definitionsBuiltAt;
    if (builtAt) await writeDailyDatabase(join(dir, "db"), { builtAt, ndb: [DAILY_MARKER_SIGNATURE] });
    ({ port, value: running } = await startOnFreePort(async (candidate) => {
      const started = performance.now();
      const spawned = await spawnClamd(binary, candidate, dir, streamMaxLength);
      startupMs = Math.round(performance.now() - started);
      return spawned;
    }));
  } catch (error) {
    await removeTempDir(dir);
    throw error;
  }

  const controls = serverControls("clamd", dir, running);
  return {
    host: HOST,
    port,
    startupMs,
    stop: () => controls.stop(),
    close: () => controls.close(),
  };
}
