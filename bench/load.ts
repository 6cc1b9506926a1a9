/**
 * `npm run loadtest [-- --quick]`: requests per second and p50/p99 latency of the local stack as
 * `npm start` runs it (a separate process, on loopback only, with a real redis-server), for
 *   - `GET /no-such-route` (404 from the router, no handler): the ceiling of the local HTTP layer,
 *   - `GET /health`: locally it also probes the embedded S3 server (an unsigned GET of its root),
 *     so it measures that probe too,
 *   - presign (one video),
 *   - signed-urls of 10 linked videos (images would need processing first),
 *   - the whole presign → PUT → consume flow (one flow is one "request" here).
 * Each scenario runs a fixed number of concurrent clients for a fixed time, then stops by itself.
 * Printed as a table and merged into bench/results.json under `load`.
 */
import { fileURLToPath } from "node:url";
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
}

export function loadPlan(quick: boolean): LoadPlan {
  return {
    quick,
    durationMs: quick ? 2_000 : 10_000,
    concurrency: quick ? 8 : 16,
    flowConcurrency: quick ? 4 : 8,
    scenarios: ["router-404", "health", "presign", "signed-urls-10", "flow"],
  };
}

export interface ScenarioResult {
  requests: number;
  errors: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
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

export async function runLoad(plan: LoadPlan): Promise<Record<string, ScenarioResult>> {
  const redis = await startRedisServer();
  const stack = await startLocalStack({
    REDIS_URL: redis.url,
    PRESIGN_RATE_PER_MINUTE: "100000000",
    ORG_QUOTA_BYTES: String(1e15),
    USER_IN_FLIGHT_BYTES: String(1e15),
  });
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
    for (const scenario of plan.scenarios) {
      const c = scenario === "flow" ? plan.flowConcurrency : plan.concurrency;
      results[scenario] = await drive(c, plan.durationMs, async (worker) => {
        const client = clients[worker]!;
        switch (scenario) {
          case "router-404":
            return (await client.get("/no-such-route")) === 404;
          case "health":
            return (await client.get("/health")) === 200;
          case "presign":
            return (await client.presignOnly(1024)) === 201;
          case "signed-urls-10":
            return (await client.signedUrls(linked)) === 200;
          case "flow":
            return (await client.flow(1024)).ok;
        }
      });
    }
    return results;
  } finally {
    await stack.close();
    await redis.close();
  }
}

function printTable(results: Record<string, ScenarioResult>, plan: LoadPlan): void {
  const rows = Object.entries(results).map(([name, r]) => [
    name,
    String(r.requests),
    String(r.errors),
    String(r.requestsPerSecond),
    String(r.p50Ms),
    String(r.p99Ms),
  ]);
  const header = ["scenario", "requests", "errors", "req/s", "p50 ms", "p99 ms"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ");
  console.log(`\nload on the local stack (${plan.durationMs / 1000} s per scenario, ${plan.concurrency} clients; flow ${plan.flowConcurrency})`);
  console.log(line(header));
  for (const row of rows) console.log(line(row));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const plan = loadPlan(process.argv.includes("--quick"));
  const results = await runLoad(plan);
  printTable(results, plan);
  await mergeResults("load", {
    quick: plan.quick,
    node: process.version,
    date: new Date().toISOString(),
    durationSecondsPerScenario: plan.durationMs / 1000,
    concurrency: plan.concurrency,
    flowConcurrency: plan.flowConcurrency,
    scenarios: results,
  });
  console.log(`\nmerged into bench/results.json under "load"${plan.quick ? " (--quick)" : ""}`);
}
