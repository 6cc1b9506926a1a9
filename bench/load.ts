/**
 * `npm run loadtest [-- --quick]`: requests per second and p50/p99 latency of the local stack as
 * `npm start` runs it (a separate process, on loopback only, with a real redis-server), for
 *   - `GET /no-such-route` (404 from the router, no handler): the ceiling of the local HTTP layer,
 *   - `GET /health`: locally it also probes the embedded S3 server (an unsigned GET of its root),
 *     so it measures that probe too,
 *   - presign (one video),
 *   - signed-urls of 10 linked videos (images would need processing first),
 *   - the whole presign → PUT → consume flow (one flow is one "request" here).
 * The single-request scenarios are driven by autocannon (HTTP/1.1 keep-alive, pipelining 1): a
 * loop of Node `fetch` calls tops out near 1.5k req/s here, far below the router. Each scenario
 * records the CPU the generator (this process) and the stack's process used while it ran, so the
 * table shows which side was the bottleneck; the router's ceiling is also measured with two
 * generators at once (two autocannon worker threads) — if one generator were the limit, two would
 * go faster. The flow (three requests and a PUT to storage each) still runs on `FlowClient`.
 * Goals: presign and signed-urls each ≥ 0.2 of the router's ceiling in the same run.
 * Printed as a table and merged into bench/results.json under `load`.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { startLocalStack } from "../support/local-stack.js";
import { startRedisServer } from "../support/redis-server.js";
import { FlowClient } from "./flow-client.js";
import { mergeResults } from "./results.js";

export interface LoadPlan {
  quick: boolean;
  durationMs: number;
  /** Concurrent clients per scenario (the flow uses fewer: each flow is three requests). */
  concurrency: number;
  flowConcurrency: number;
  scenarios: readonly ("router-404" | "health" | "presign" | "signed-urls-10" | "flow")[];
  /** The router and the goal scenarios run in turn this many times; each keeps its median. */
  rounds: number;
  /** presign on the stack's default in-memory store for this many windows of `durationMs` in a row. */
  memoryStoreWindows: number;
}

export function loadPlan(quick: boolean): LoadPlan {
  return {
    quick,
    durationMs: quick ? 2_000 : 10_000,
    concurrency: quick ? 8 : 16,
    flowConcurrency: quick ? 4 : 8,
    scenarios: ["router-404", "health", "presign", "signed-urls-10", "flow"],
    rounds: quick ? 1 : 3,
    memoryStoreWindows: 4,
  };
}

/** presign's req/s in the last window on the in-memory store over the first, at least: a request's cost must not grow with the store. */
export const MEMORY_STORE_GOAL = 0.85;

/** The goals: each scenario's req/s over the router's, at least. */
export const CEILING_GOALS = { presign: 0.2, "signed-urls-10": 0.2 } as const;

export interface ScenarioResult {
  requests: number;
  errors: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU seconds per wall second while the scenario ran: the generator (this process) and the stack's process. */
  generatorCpu?: number;
  serverCpu?: number;
}

/** user + system CPU seconds a process has used so far (Linux /proc; clock ticks of 1/100 s). */
function processCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Runs `measure` and reports the CPU this process and `serverPid` used per wall second meanwhile. */
async function withCpu<T extends ScenarioResult>(serverPid: number, measure: () => Promise<T>): Promise<T> {
  const wall = performance.now();
  const own = process.cpuUsage();
  const server = processCpuSeconds(serverPid);
  const result = await measure();
  const seconds = (performance.now() - wall) / 1000;
  const used = process.cpuUsage(own);
  return {
    ...result,
    generatorCpu: round((used.user + used.system) / 1e6 / seconds, 2),
    serverCpu: round((processCpuSeconds(serverPid) - server) / seconds, 2),
  };
}

/** One autocannon run: `connections` keep-alive connections for `durationMs`; a reply other than `expect` counts as an error. */
async function cannon(options: {
  url: string;
  connections: number;
  durationMs: number;
  expect: number;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  workers?: number;
  /** Changes each request before it is sent (autocannon's `setupRequest`). */
  setupRequest?: (request: autocannon.Request) => autocannon.Request;
}): Promise<ScenarioResult> {
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.durationMs / 1000,
    method: options.method ?? "GET",
    headers: options.headers,
    body: options.body,
    ...(options.workers ? { workers: options.workers } : {}),
    ...(options.setupRequest ? { requests: [{ setupRequest: options.setupRequest }] } : {}),
  });
  const expected = (result.statusCodeStats as unknown as Record<string, { count: number }> | undefined)?.[String(options.expect)]?.count ?? 0;
  const requests = result.requests.total;
  return {
    requests,
    errors: requests - expected + result.errors + result.timeouts,
    requestsPerSecond: round(requests / (options.durationMs / 1000)),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
  };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const round = (value: number, digits = 1) => Number(value.toFixed(digits));

/** Runs `request` from `concurrency` loops until `durationMs` has passed; each call answers ok or not. */
async function drive(concurrency: number, durationMs: number, request: (worker: number) => Promise<boolean>): Promise<ScenarioResult> {
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const end = start + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < end) {
        const t = performance.now();
        const ok = await request(worker).catch(() => false);
        latencies.push(performance.now() - t);
        if (!ok) errors += 1;
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  const sorted = latencies.sort((a, b) => a - b);
  return {
    requests: sorted.length,
    errors,
    requestsPerSecond: round(sorted.length / elapsed),
    p50Ms: round(percentile(sorted, 50), 2),
    p99Ms: round(percentile(sorted, 99), 2),
  };
}

/** `profileDir`: the stack runs under `node --cpu-prof`, writing its profile there when it stops. */
export async function runLoad(plan: LoadPlan, options: { profileDir?: string } = {}): Promise<Record<string, ScenarioResult>> {
  const redis = await startRedisServer();
  const stack = await startLocalStack(
    {
      REDIS_URL: redis.url,
      PRESIGN_RATE_PER_MINUTE: "100000000",
      ORG_QUOTA_BYTES: String(1e15),
      USER_IN_FLIGHT_BYTES: String(1e15),
    },
    options.profileDir ? { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${options.profileDir}`] } : {},
  );
  try {
    const clients = await Promise.all(
      Array.from({ length: plan.concurrency }, async (_, i) => {
        const who = { orgId: "org_load", userId: `user_load_${i}`, role: "coach" };
        return new FlowClient(stack, { ...who, token: await stack.token(who) });
      }),
    );
    // Ten linked videos to sign (exercise comments are readable by every member of the org).
    const linked: string[] = [];
    for (let i = 0; i < 10; i++) {
      const outcome = await clients[0]!.flow(1024);
      if (!outcome.ok) throw new Error(`could not prepare the signed-urls keys: ${outcome.error}`);
      linked.push(outcome.consumed!.key);
    }

    const results: Record<string, ScenarioResult> = {};
    const session = {
      "content-type": "application/json",
      authorization: `Bearer ${await stack.token({ orgId: "org_load", userId: "user_load_0", role: "coach" })}`,
    };
    const run = (scenario: LoadPlan["scenarios"][number], durationMs = plan.durationMs): Promise<ScenarioResult> => {
      const base = { connections: plan.concurrency, durationMs };
      switch (scenario) {
        case "router-404":
          return cannon({ ...base, url: `${stack.api}/no-such-route`, expect: 404 });
        case "health":
          return cannon({ ...base, url: `${stack.api}/health`, expect: 200 });
        case "presign":
          return cannon({
            ...base,
            url: `${stack.api}/uploads`,
            method: "POST",
            headers: session,
            body: JSON.stringify({ ownerType: "exercise_comment", files: [{ contentType: "video/mp4", size: 1024 }] }),
            expect: 201,
          });
        case "signed-urls-10":
          return cannon({
            ...base,
            url: `${stack.api}/uploads/signed-urls`,
            method: "POST",
            headers: session,
            body: JSON.stringify({ keys: linked }),
            expect: 200,
          });
        case "flow":
          return drive(plan.flowConcurrency, plan.durationMs, async (worker) => (await clients[worker]!.flow(1024)).ok);
      }
    };
    // Unmeasured first: the stack's first requests of a kind compile its code path (JIT, lazy imports).
    for (const scenario of plan.scenarios) if (scenario !== "flow") await run(scenario, 2_000);
    // The ratios' scenarios in turn, `rounds` times, so the machine's noise hits the ceiling and them
    // alike; each keeps its median round (by req/s).
    const rounds = new Map<string, ScenarioResult[]>();
    for (let round = 0; round < plan.rounds; round++) {
      for (const scenario of plan.scenarios.filter((s) => s === "router-404" || s in CEILING_GOALS)) {
        rounds.set(scenario, [...(rounds.get(scenario) ?? []), await withCpu(stack.pid(), () => run(scenario))]);
      }
    }
    for (const scenario of plan.scenarios) {
      const measured = rounds.get(scenario);
      results[scenario] = measured
        ? [...measured].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond)[Math.floor(measured.length / 2)]!
        : await withCpu(stack.pid(), () => run(scenario));
    }
    // The ceiling again from two generators at once (autocannon worker threads, half the connections each).
    results["router-404-two-generators"] = await withCpu(stack.pid(), () =>
      cannon({ url: `${stack.api}/no-such-route`, connections: plan.concurrency, durationMs: plan.durationMs, expect: 404, workers: 2 }),
    );
    return results;
  } finally {
    await stack.close();
    await redis.close();
  }
}

export interface MemoryStoreLoad {
  /** presign req/s in each window, in order, on a store that keeps every upload presigned before. */
  windows: ScenarioResult[];
  lastOverFirst: number;
  goal: number;
  met: boolean;
  /** Uploads staged by the end, and the bytes of the store's files on disk then (snapshot + journal). */
  staged: number;
  snapshotBytes: number;
  journalBytes: number;
}

/**
 * presign on the stack's default store (in memory, journaled under its data directory) for several
 * windows in a row: before the journal, each request rewrote the whole snapshot, so the rate fell
 * as the store filled.
 */
export async function runMemoryStoreLoad(plan: LoadPlan, options: { profileDir?: string } = {}): Promise<MemoryStoreLoad> {
  // The default presign rate limit (60 a minute per user) holds: the requests rotate over enough
  // users to stay under it, so each user's rate window stays as small as in real use.
  const stack = await startLocalStack(
    { ORG_QUOTA_BYTES: String(1e15), USER_IN_FLIGHT_BYTES: String(1e15) },
    options.profileDir ? { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${options.profileDir}`] } : {},
  );
  try {
    const users = 3000;
    const tokens = await Promise.all(Array.from({ length: users }, (_, i) => stack.token({ orgId: "org_load", userId: `user_mem_${i}`, role: "coach" })));
    let next = 0;
    const setupRequest = (request: autocannon.Request): autocannon.Request => ({
      ...request,
      headers: { ...request.headers, authorization: `Bearer ${tokens[next++ % users]}` },
    });
    const headers = { "content-type": "application/json" };
    const body = JSON.stringify({ ownerType: "exercise_comment", files: [{ contentType: "video/mp4", size: 1024 }] });
    const windows: ScenarioResult[] = [];
    // Unmeasured first, as for the other scenarios: the first requests compile the code path.
    await cannon({ url: `${stack.api}/uploads`, method: "POST", headers, body, setupRequest, connections: plan.concurrency, durationMs: 2_000, expect: 201 });
    for (let i = 0; i < plan.memoryStoreWindows; i++) {
      windows.push(
        await withCpu(stack.pid(), () =>
          cannon({
            url: `${stack.api}/uploads`,
            method: "POST",
            headers,
            body,
            setupRequest,
            connections: plan.concurrency,
            durationMs: plan.durationMs,
            expect: 201,
          }),
        ),
      );
    }
    const files = readdirSync(stack.dataDir);
    const bytesOf = (names: string[]) => names.reduce((sum, name) => sum + statSync(join(stack.dataDir, name)).size, 0);
    const lastOverFirst = round(windows.at(-1)!.requestsPerSecond / windows[0]!.requestsPerSecond, 2);
    return {
      windows,
      lastOverFirst,
      goal: MEMORY_STORE_GOAL,
      met: lastOverFirst >= MEMORY_STORE_GOAL,
      staged: windows.reduce((sum, w) => sum + w.requests - w.errors, 0),
      snapshotBytes: bytesOf(files.filter((name) => name === "memory-store.json")),
      journalBytes: bytesOf(files.filter((name) => name.endsWith(".journal"))),
    };
  } finally {
    await stack.close();
  }
}

/**
 * Each goal scenario's req/s over the router's ceiling in the same run, with the goal and whether
 * it is met. The ceiling is the higher of the one- and two-generator router runs, so a generator
 * that held the router back cannot flatter the ratios.
 */
export function ceilingRatios(results: Record<string, ScenarioResult>): Record<string, { ofCeiling: number; goal: number; met: boolean }> {
  const ceiling = Math.max(results["router-404"]?.requestsPerSecond ?? 0, results["router-404-two-generators"]?.requestsPerSecond ?? 0);
  return Object.fromEntries(
    Object.entries(CEILING_GOALS).flatMap(([name, goal]) => {
      const r = results[name];
      if (!r || ceiling === 0) return [];
      const ofCeiling = round(r.requestsPerSecond / ceiling, 3);
      return [[name, { ofCeiling, goal, met: ofCeiling >= goal }]];
    }),
  );
}

function printTable(results: Record<string, ScenarioResult>, plan: LoadPlan): void {
  const rows = Object.entries(results).map(([name, r]) => [
    name,
    String(r.requests),
    String(r.errors),
    String(r.requestsPerSecond),
    String(r.p50Ms),
    String(r.p99Ms),
    r.generatorCpu === undefined ? "" : `${r.generatorCpu} / ${r.serverCpu}`,
  ]);
  const header = ["scenario", "requests", "errors", "req/s", "p50 ms", "p99 ms", "CPU generator / stack"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ");
  console.log(`\nload on the local stack (${plan.durationMs / 1000} s per scenario, ${plan.concurrency} clients; flow ${plan.flowConcurrency})`);
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  for (const [name, r] of Object.entries(ceilingRatios(results))) {
    console.log(`${name} / router ceiling (the higher of one and two generators): ${r.ofCeiling} (goal ≥ ${r.goal}) ${r.met ? "met" : "NOT met"}`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const plan = loadPlan(process.argv.includes("--quick"));
  // `--profile <dir>`: a .cpuprofile of the stack under this load (open it in Chrome DevTools).
  const profileDir = process.argv.includes("--profile") ? process.argv[process.argv.indexOf("--profile") + 1] : undefined;
  const results = await runLoad(plan, { profileDir });
  printTable(results, plan);
  const memoryStore = await runMemoryStoreLoad(plan, { profileDir });
  console.log(
    `\npresign on the in-memory store, ${plan.memoryStoreWindows} windows of ${plan.durationMs / 1000} s: ${memoryStore.windows.map((w) => w.requestsPerSecond).join(" → ")} req/s (p99 ${memoryStore.windows.map((w) => w.p99Ms).join(" → ")} ms); last / first ${memoryStore.lastOverFirst} (goal ≥ ${memoryStore.goal}) ${memoryStore.met ? "met" : "NOT met"}; ${memoryStore.staged} staged, snapshot ${memoryStore.snapshotBytes} B + journal ${memoryStore.journalBytes} B`,
  );
  await mergeResults("load", {
    quick: plan.quick,
    node: process.version,
    date: new Date().toISOString(),
    durationSecondsPerScenario: plan.durationMs / 1000,
    concurrency: plan.concurrency,
    flowConcurrency: plan.flowConcurrency,
    rounds: plan.rounds,
    generator: "autocannon 9.0.0 (flow: FlowClient on fetch)",
    scenarios: results,
    ofCeiling: ceilingRatios(results),
    memoryStore,
  });
  console.log(`\nmerged into bench/results.json under "load"${plan.quick ? " (--quick)" : ""}`);
}
