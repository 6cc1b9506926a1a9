/**
 * `npm run chaos [-- --quick]`: faults injected into the local stack (a separate process, loopback
 * only, a real redis-server with AOF) while concurrent uploaders run presign → PUT → consume with
 * the client library's retries. After each fault, with the load stopped:
 *   - every consumed object is in storage, byte for byte,
 *   - the org's `used` equals the sum of the linked sizes,
 *   - `reserved` is back to 0 once the URLs' lifetime and grace passed and a sweep ran,
 *   - the orphan audit finds no object without a record,
 *   - no API request waited longer than the bound (dependencyTimeoutMs × S3 attempts + margin).
 * Prints the fault matrix and merges it into bench/results.json under `chaos`.
 */
import { fileURLToPath } from "node:url";
import { createS3Client } from "@fitkit/core/adapters/s3/s3-client";
import { S3ObjectStore } from "@fitkit/core/adapters/s3/s3-object-store";
import { type LocalStack, startLocalStack } from "../support/local-stack.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";
import { FlowClient, type FlowOutcome, type RequestRecord } from "./flow-client.js";
import { mergeResults } from "./results.js";

const DEPENDENCY_TIMEOUT_MS = 1000;
/** Two attempts per S3 call (core's S3_MAX_ATTEMPTS), plus the stack's own time. */
const REQUEST_BOUND_MS = DEPENDENCY_TIMEOUT_MS * 2 + 1500;
const PRESIGN_TTL_SECONDS = 30;
const STAGING_GRACE_SECONDS = 5;
const ORG = "org_chaos";

export type FaultName = "redis-paused-7s" | "redis-killed-restarted" | "s3-paused-25s" | "s3-killed" | "stack-sigkill-restarted";

export interface ChaosPlan {
  quick: boolean;
  clients: number;
  /** Load before the fault and after it recovered. */
  leadMs: number;
  tailMs: number;
  faults: readonly FaultName[];
}

export function chaosPlan(quick: boolean): ChaosPlan {
  return {
    quick,
    clients: quick ? 10 : 20,
    leadMs: quick ? 1500 : 3000,
    tailMs: quick ? 2000 : 5000,
    faults: ["redis-paused-7s", "redis-killed-restarted", "s3-paused-25s", "s3-killed", "stack-sigkill-restarted"],
  };
}

export interface FaultRow {
  fault: FaultName;
  flows: { completed: number; failed: number; retries: number };
  /** What the uploaders saw: answers other than success, per request kind. */
  clientsSaw: Record<string, Record<string, number>>;
  longestApiRequestMs: number;
  /** The longest API request's kind and answer (0: none). */
  longestApiRequest: { kind: string; status: number };
  boundMs: number;
  recoveredWithoutRestart: boolean | "n/a";
  checks: { objectsIntact: boolean; usedMatchesLinked: boolean; reservedBackToZero: boolean; noOrphans: boolean; withinBound: boolean };
  lost: string[];
  verdict: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function inject(fault: FaultName, stack: LocalStack, redis: RedisServer): Promise<void> {
  switch (fault) {
    case "redis-paused-7s": {
      const pid = redis.pid();
      process.kill(pid, "SIGSTOP");
      await sleep(7000);
      process.kill(pid, "SIGCONT");
      return;
    }
    case "redis-killed-restarted":
      await redis.stop();
      await sleep(2000);
      await redis.start();
      return;
    case "s3-paused-25s": {
      const pid = await stack.s3Pid();
      process.kill(pid, "SIGSTOP");
      await sleep(25_000);
      process.kill(pid, "SIGCONT");
      return;
    }
    case "s3-killed":
      process.kill(await stack.s3Pid(), "SIGKILL");
      return;
    case "stack-sigkill-restarted":
      await stack.killAndRestart();
      return;
  }
}

/** Uploaders looping flows until `stop()`; every consumed object is remembered for the checks. */
function startLoad(clients: FlowClient[], consumed: NonNullable<FlowOutcome["consumed"]>[]) {
  let running = true;
  const flows = { completed: 0, failed: 0, retries: 0 };
  const errors: string[] = [];
  const loops = clients.map(async (client) => {
    while (running) {
      const outcome = await client.flow(2048);
      flows.retries += outcome.retries;
      if (outcome.ok) {
        flows.completed += 1;
        consumed.push(outcome.consumed!);
      } else {
        flows.failed += 1;
        errors.push(outcome.error ?? "unknown");
      }
    }
  });
  return {
    flows,
    errors,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

function summarise(records: RequestRecord[]): { saw: Record<string, Record<string, number>>; longestApiMs: number; longest: { kind: string; status: number } } {
  const saw: Record<string, Record<string, number>> = {};
  let longestApiMs = 0;
  let longest = { kind: "none", status: 0 };
  for (const r of records) {
    if (r.kind !== "put" && r.ms > longestApiMs) {
      longestApiMs = r.ms;
      longest = { kind: r.kind, status: r.status };
    }
    const ok = r.status === 200 || r.status === 201;
    if (ok) continue;
    const label = r.status === 0 ? "no answer" : String(r.status);
    saw[r.kind] ??= {};
    saw[r.kind]![label] = (saw[r.kind]![label] ?? 0) + 1;
  }
  return { saw, longestApiMs: Math.round(longestApiMs), longest };
}

async function check(stack: LocalStack, consumed: NonNullable<FlowOutcome["consumed"]>[]) {
  const lost: string[] = [];
  const objects = new S3ObjectStore(createS3Client({ endpoint: stack.s3, region: "auto", accessKeyId: "S3RVER", secretAccessKey: "S3RVER" }));
  let intact = true;
  for (const object of consumed) {
    const stream = await objects.stream(object.bucket, object.key, object.size + 1);
    const chunks: Uint8Array[] = [];
    if (stream) for await (const chunk of stream) chunks.push(chunk);
    if (!stream || Buffer.compare(Buffer.concat(chunks), Buffer.from(object.body)) !== 0) {
      intact = false;
      lost.push(`object ${object.key} ${stream ? "differs" : "is missing"}`);
    }
  }
  const linkedBytes = consumed.reduce((sum, o) => sum + o.size, 0);
  // The URLs' lifetime and grace pass, then one sweep gives back what never became an object.
  await sleep((PRESIGN_TTL_SECONDS + STAGING_GRACE_SECONDS + 1) * 1000);
  const sweep = await stack.internal("sweeper", {});
  const usage = (await stack.internal("usage", { orgId: ORG })).body as { used: number; reserved: number };
  if (usage.used !== linkedBytes) lost.push(`used is ${usage.used}, linked objects hold ${linkedBytes}`);
  if (usage.reserved !== 0) lost.push(`reserved is ${usage.reserved} after expiry and a sweep (${JSON.stringify(sweep.body)})`);
  const audit = (await stack.internal("orphan-audit", {})).body as { buckets: { unknown: number }[]; orphanCount: number };
  const unknown = audit.buckets.reduce((sum, b) => sum + b.unknown, 0);
  if (unknown > 0 || audit.orphanCount > 0) lost.push(`${unknown} objects have no record (${audit.orphanCount} past the staging lifetime)`);
  return {
    lost,
    checks: { objectsIntact: intact, usedMatchesLinked: usage.used === linkedBytes, reservedBackToZero: usage.reserved === 0, noOrphans: unknown === 0 },
  };
}

export async function runChaos(plan: ChaosPlan, log: (line: string) => void = console.log): Promise<FaultRow[]> {
  const redis = await startRedisServer({ appendOnly: true });
  const stack = await startLocalStack({
    REDIS_URL: redis.url,
    DEPENDENCY_TIMEOUT_MS: String(DEPENDENCY_TIMEOUT_MS),
    PRESIGN_TTL_SECONDS: String(PRESIGN_TTL_SECONDS),
    STAGING_GRACE_SECONDS: String(STAGING_GRACE_SECONDS),
    PRESIGN_RATE_PER_MINUTE: "100000000",
    ORG_QUOTA_BYTES: String(1e15),
    USER_IN_FLIGHT_BYTES: String(1e15),
  });
  const consumed: NonNullable<FlowOutcome["consumed"]>[] = [];
  const rows: FaultRow[] = [];
  try {
    for (const fault of plan.faults) {
      const clients = await Promise.all(
        Array.from({ length: plan.clients }, async (_, i) => {
          const who = { orgId: ORG, userId: `user_chaos_${i}`, role: "member" };
          return new FlowClient(stack, { ...who, token: await stack.token(who) });
        }),
      );
      const stackPid = stack.pid();
      log(`${fault}: load from ${plan.clients} clients…`);
      const load = startLoad(clients, consumed);
      await sleep(plan.leadMs);
      await inject(fault, stack, redis);
      // After the fault: flows must complete again (recovery), then the tail of the load.
      const completedAtRecovery = load.flows.completed;
      const recoveryDeadline = Date.now() + 60_000;
      while (load.flows.completed < completedAtRecovery + plan.clients && Date.now() < recoveryDeadline) await sleep(200);
      const recovered = load.flows.completed >= completedAtRecovery + plan.clients;
      await sleep(plan.tailMs);
      await load.stop();
      const { saw, longestApiMs, longest } = summarise(clients.flatMap((c) => c.records));
      const { lost, checks } = await check(stack, consumed);
      const withinBound = longestApiMs <= REQUEST_BOUND_MS;
      if (!withinBound) lost.push(`an API request waited ${longestApiMs} ms (bound ${REQUEST_BOUND_MS} ms)`);
      if (!recovered) lost.push("flows did not complete again within 60 s of the fault");
      const restartedByUs = fault === "stack-sigkill-restarted";
      const row: FaultRow = {
        fault,
        flows: load.flows,
        clientsSaw: saw,
        longestApiRequestMs: longestApiMs,
        longestApiRequest: longest,
        boundMs: REQUEST_BOUND_MS,
        recoveredWithoutRestart: restartedByUs ? "n/a" : recovered && stack.pid() === stackPid,
        checks: { ...checks, withinBound },
        lost,
        verdict: lost.length === 0 && recovered ? "recovered, nothing lost" : `NOT OK: ${lost.join("; ")}`,
      };
      if (load.errors.length > 0) log(`  failed flows: ${[...new Set(load.errors)].slice(0, 5).join(" | ")}`);
      log(`  ${row.verdict}`);
      rows.push(row);
    }
    return rows;
  } finally {
    await stack.close();
    await redis.close();
  }
}

function printMatrix(rows: FaultRow[]): void {
  const saw = (row: FaultRow) =>
    Object.entries(row.clientsSaw)
      .map(
        ([kind, statuses]) =>
          `${kind} ${Object.entries(statuses)
            .map(([status, n]) => `${status}×${n}`)
            .join(",")}`,
      )
      .join("; ") || "nothing but success";
  const table = rows.map((row) => [
    row.fault,
    `${row.flows.completed} ok / ${row.flows.failed} failed / ${row.flows.retries} retries; ${saw(row)}; longest ${row.longestApiRequestMs} ms (${row.longestApiRequest.kind} ${row.longestApiRequest.status})`,
    String(row.recoveredWithoutRestart),
    row.lost.length === 0 ? "nothing" : row.lost.join("; "),
  ]);
  const header = ["fault", "what clients saw", "recovered without restart", "lost"];
  console.log("\nfault matrix");
  for (const cells of [header, ...table]) console.log(cells.join(" | "));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const full = chaosPlan(process.argv.includes("--quick"));
  // `--fault <name>`: one fault only, for investigating it (the results are then not merged).
  const only = process.argv.indexOf("--fault");
  const plan = only > 0 ? { ...full, faults: full.faults.filter((f) => f === process.argv[only + 1]) } : full;
  const rows = await runChaos(plan);
  printMatrix(rows);
  if (only < 0)
    await mergeResults("chaos", {
      quick: plan.quick,
      node: process.version,
      date: new Date().toISOString(),
      clients: plan.clients,
      settings: {
        dependencyTimeoutMs: DEPENDENCY_TIMEOUT_MS,
        presignTtlSeconds: PRESIGN_TTL_SECONDS,
        stagingGraceSeconds: STAGING_GRACE_SECONDS,
        redis: "AOF, appendfsync always",
      },
      faults: rows,
    });
  if (only < 0) console.log(`\nmerged into bench/results.json under "chaos"${plan.quick ? " (--quick)" : ""}`);
  if (rows.some((row) => row.lost.length > 0)) process.exitCode = 1;
}
