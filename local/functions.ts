/**
 * The deployed function table (`stacks/functions.ts`) as the local stack serves it: each routed
 * function on its API Gateway route, each internal one as `POST /internal/<operation>`, each
 * schedule on a timer, each queue subscriber on the in-process queue (SQS-shaped events). No
 * handler, route or operation is listed here by hand.
 */
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import {
  FUNCTION_KEYS,
  FUNCTIONS,
  type FunctionKey,
  type FunctionSpec,
  type InternalFunctionKey,
  type InternalOperationName,
  type QueueName,
  type ServedFunctionKey,
  SUCCESS_STATUS,
} from "../stacks/functions.js";
import type { HttpHandler, InternalHandler, InternalOperation, Route } from "./server.js";

export interface LocalSchedule {
  /** The function key (the Lambda's name, for its context). */
  key: FunctionKey;
  operation: string;
  everyMs: number;
  timeoutMs: number;
}

/** A queue's subscriber, as Lambda's SQS event source calls it. */
export interface LocalQueueSubscriber {
  key: FunctionKey;
  queue: QueueName;
  handler: (event: SQSEvent, context: unknown) => Promise<SQSBatchResponse>;
  timeoutMs: number;
}

export interface LocalFunctions {
  routes: Route[];
  /** By operation name. */
  internal: Record<string, InternalOperation>;
  schedules: LocalSchedule[];
  queues: LocalQueueSubscriber[];
}

/** Imports every handler of the table. Call it once the linked resources are set: handlers read them on first use. */
export async function loadFunctions(): Promise<LocalFunctions> {
  const loaded = await Promise.all(FUNCTION_KEYS.map(async (key) => ({ key, spec: FUNCTIONS[key] as FunctionSpec, handler: await importHandler(key) })));
  const functions: LocalFunctions = { routes: [], internal: {}, schedules: [], queues: [] };
  for (const { key, spec, handler } of loaded) {
    if (spec.route) {
      const [method, path] = spec.route.split(" ") as [string, string];
      functions.routes.push({ method, path, handler: handler as HttpHandler, functionName: key, timeoutMs: timeoutToMs(spec.timeout) });
    } else if (spec.queue) {
      functions.queues.push({ key, queue: spec.queue, handler: handler as LocalQueueSubscriber["handler"], timeoutMs: timeoutToMs(spec.timeout) });
    } else {
      const operation: InternalOperationName = key as InternalFunctionKey;
      functions.internal[operation] = {
        handler: handler as InternalHandler,
        successStatus: SUCCESS_STATUS[key as ServedFunctionKey],
        functionName: key,
        timeoutMs: timeoutToMs(spec.timeout),
      };
      if (spec.schedule) functions.schedules.push({ key, operation, everyMs: rateToMs(spec.schedule), timeoutMs: timeoutToMs(spec.timeout) });
    }
  }
  return functions;
}

/** `functions/<file>.handler` → the `handler` export of `functions/<file>.ts`. */
async function importHandler(key: FunctionKey): Promise<unknown> {
  const file = FUNCTIONS[key].handler.replace(/\.handler$/, ".ts");
  const module = (await import(new URL(`../${file}`, import.meta.url).href)) as { handler?: unknown };
  if (typeof module.handler !== "function") throw new Error(`${file} does not export a handler function`);
  return module.handler;
}

const UNIT_MS: Record<string, number> = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** SST's Lambda timeout when a function states none. */
const DEFAULT_TIMEOUT_MS = 20_000;

/**
 * `60 seconds` → 60000: the deployed timeout, so the local context's remaining time (and middy's
 * early timeout before it) match the deployed function's.
 */
export function timeoutToMs(timeout: FunctionSpec["timeout"]): number {
  if (!timeout) return DEFAULT_TIMEOUT_MS;
  const [amount, unit] = timeout.split(" ") as [string, string];
  return Number(amount) * UNIT_MS[unit.replace(/s$/, "")]!;
}

/** `rate(5 minutes)` → 300000. A cron() schedule has no local timer yet: say so rather than skip it. */
export function rateToMs(schedule: string): number {
  const match = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(schedule);
  if (!match) throw new Error(`The local stack runs rate(N minutes|hours|days) schedules only, got ${schedule}`);
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}

/** Records of the in-process queue as the SQS event Lambda's event source would deliver. */
export function sqsEvent(queue: QueueName, records: { messageId: string; body: string; receiveCount: number }[]): SQSEvent {
  return {
    Records: records.map((r) => ({
      messageId: r.messageId,
      receiptHandle: r.messageId,
      body: r.body,
      attributes: {
        ApproximateReceiveCount: String(r.receiveCount),
        SentTimestamp: String(Date.now()),
        SenderId: "local",
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: "",
      eventSource: "aws:sqs",
      eventSourceARN: `arn:aws:sqs:local:000000000000:${queue}`,
      awsRegion: "local",
    })),
  };
}
