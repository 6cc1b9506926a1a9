/**
 * `npm start` under a supervisor: the local stack runs as a real process tree (npm → tsx → the
 * node process running the stack → the embedded S3 server, plus tsx's esbuild service). However it
 * is stopped — SIGTERM or SIGINT to npm, Ctrl-C to the whole group, SIGKILL to the stack's node
 * process or to tsx, SIGTERM to the S3 server — no process of the tree may survive, and the next
 * start binds the same ports.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../support/child-processes.js";
import { sleep } from "./support/fixtures.js";

const REPO_ROOT = join(import.meta.dirname, "..");
const START_TIMEOUT_MS = 40_000;
const EXIT_TIMEOUT_MS = 15_000;

interface ProcessInfo {
  pid: number;
  ppid: number;
  args: string;
}

interface RunningStack {
  npm: ChildProcess;
  /** Resolves once npm has exited (and been reaped). */
  exited: Promise<void>;
  api: string;
  s3: string;
}

let dataDir: string;
let ports: { api: number; s3: number };
let current: RunningStack | undefined;

/** Live (not zombie) processes, from `ps`. */
function processTable(): ProcessInfo[] {
  const out = execFileSync("ps", ["-eo", "pid=,ppid=,stat=,args="], { encoding: "utf8" });
  return out
    .split("\n")
    .map((line) => line.trim().match(/^(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/))
    .filter((m): m is RegExpMatchArray => m !== null && !m[3]!.startsWith("Z"))
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[4]! }));
}

/** `root` and all its live descendants. */
function processTree(root: number): ProcessInfo[] {
  const table = processTable();
  const tree = table.filter((p) => p.pid === root);
  for (let i = 0; i < tree.length; i++) tree.push(...table.filter((p) => p.ppid === tree[i]!.pid));
  return tree;
}

async function startStack(): Promise<RunningStack> {
  const npm = spawn("npm", ["start"], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      PORT: String(ports.api),
      S3_PORT: String(ports.s3),
      UPLOADS_DATA_DIR: dataDir,
      INTERNAL_API_KEY: "test-internal-key",
      npm_config_update_notifier: "false",
    },
    // Its own process group, as under a supervisor, so a leftover can be cleaned up as a group.
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((resolve) => npm.once("exit", () => resolve()));
  let output = "";
  npm.stderr!.on("data", (chunk) => (output += String(chunk)));
  const ready = await new Promise<{ api: string; s3: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start was not ready within ${START_TIMEOUT_MS} ms:\n${output}`)), START_TIMEOUT_MS);
    createInterface({ input: npm.stdout! }).on("line", (line) => {
      output += `${line}\n`;
      if (!line.startsWith("{")) return;
      const event = JSON.parse(line);
      if (event.event === "ready") {
        clearTimeout(timer);
        resolve(event);
      }
    });
    npm.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (${signal ?? code}) before ready:\n${output}`));
    });
  });
  return { npm, exited, ...ready };
}

/** Polls until none of `pids` is alive; returns the survivors after the timeout. */
async function survivorsOf(pids: number[]): Promise<ProcessInfo[]> {
  const deadline = Date.now() + EXIT_TIMEOUT_MS;
  for (;;) {
    const alive = processTable().filter((p) => pids.includes(p.pid));
    if (alive.length === 0 || Date.now() > deadline) return alive;
    await sleep(100);
  }
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** The stack's processes by role, found in the real tree under npm. */
function rolesIn(tree: ProcessInfo[]) {
  const s3 = tree.find((p) => p.args.includes("embedded-s3-child.mjs"));
  const stack = tree.find((p) => p.pid === s3?.ppid);
  const tsx = tree.find((p) => p.pid === stack?.ppid);
  if (!s3 || !stack || !tsx) throw new Error(`unexpected process tree:\n${tree.map((p) => `${p.pid} ${p.ppid} ${p.args}`).join("\n")}`);
  return { npm: tree[0]!.pid, tsx: tsx.pid, stack: stack.pid, s3: s3.pid };
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "fitkit-shutdown-"));
  ports = { api: await freePort(), s3: await freePort() };
  current = await startStack();
}, 60_000);

afterAll(async () => {
  if (current?.npm.pid) {
    const pids = processTree(current.npm.pid).map((p) => p.pid);
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  await rm(dataDir, { recursive: true, force: true });
});

describe("stopping npm start", () => {
  it.each([
    ["SIGTERM to the npm process (a supervisor's stop)", (r: ReturnType<typeof rolesIn>) => process.kill(r.npm, "SIGTERM")],
    ["SIGINT to the npm process", (r: ReturnType<typeof rolesIn>) => process.kill(r.npm, "SIGINT")],
    ["SIGINT to the whole process group (Ctrl-C in a terminal)", (r: ReturnType<typeof rolesIn>) => process.kill(-r.npm, "SIGINT")],
    ["SIGKILL to the node process running the stack", (r: ReturnType<typeof rolesIn>) => process.kill(r.stack, "SIGKILL")],
    ["SIGTERM to the node process running the stack", (r: ReturnType<typeof rolesIn>) => process.kill(r.stack, "SIGTERM")],
    ["SIGKILL to the tsx process", (r: ReturnType<typeof rolesIn>) => process.kill(r.tsx, "SIGKILL")],
    ["SIGTERM to the embedded S3 server", (r: ReturnType<typeof rolesIn>) => process.kill(r.s3, "SIGTERM")],
  ])(
    "%s leaves no process behind, and the next start binds the same ports",
    async (_how, kill) => {
      // A case that failed before its restart leaves nothing running: start afresh.
      if (!current || current.npm.exitCode !== null || current.npm.signalCode !== null) current = await startStack();
      const running = current;
      const tree = processTree(running.npm.pid!);
      expect((await fetch(`${running.api}/health`)).status).toBe(200);

      kill(rolesIn(tree));

      const survivors = await survivorsOf(tree.map((p) => p.pid));
      // Clean up before asserting, so that the next case starts on free ports.
      for (const p of survivors) process.kill(p.pid, "SIGKILL");
      await running.exited;
      expect(survivors.map((p) => `${p.pid} ${p.args.slice(0, 120)}`)).toEqual([]);
      expect({ api: await portIsFree(ports.api), s3: await portIsFree(ports.s3) }).toEqual({ api: true, s3: true });

      current = await startStack();
      expect({ api: current.api, s3: current.s3 }).toEqual({ api: `http://127.0.0.1:${ports.api}`, s3: `http://127.0.0.1:${ports.s3}` });
      expect((await fetch(`${current.api}/health`)).status).toBe(200);
    },
    90_000,
  );
});
