/**
 * One Lambda per handler, derived from the table in `stacks/functions.ts`: HTTP functions behind
 * API Gateway v2, internal functions with no route (invocable only by the caller roles of the
 * stage config), the sweeper also on a schedule, queue subscribers on their queue.
 */
import { createHash } from "node:crypto";
// The schedule's payload is owned by the handlers that must recognise it.
import { SCHEDULED_EVENT } from "../functions/lib/scheduled-event.js";
import { componentName, FUNCTION_KEYS, type FunctionKey, functionSpec, INTERNAL_FUNCTION_KEYS, isPublicRoute, type LinkName } from "./functions.js";
import type { LinkTarget } from "./links.js";
import type { Queues } from "./queues.js";
import { callersOf, type RouteThrottle, type StageConfig } from "./stage-config.js";

export const LAMBDA_RUNTIME = "nodejs22.x";

/** `fitkit-uploads-production-consume`: predictable, so callers can name what they invoke. */
export function physicalFunctionName(key: FunctionKey): string {
  return `${$app.name}-${$app.stage}-${key}`;
}

export function createApi(args: { links: Record<LinkName, LinkTarget>; queues: Queues; config: StageConfig }) {
  const { links, queues, config } = args;

  const functions = Object.fromEntries(
    FUNCTION_KEYS.map((key) => {
      const spec = functionSpec(key);
      const fn = new sst.aws.Function(componentName(key), {
        name: physicalFunctionName(key),
        description: spec.route ? `fitkit-uploads ${spec.route}` : spec.queue ? `fitkit-uploads ${spec.queue} subscriber` : `fitkit-uploads internal: ${key}`,
        handler: spec.handler,
        runtime: LAMBDA_RUNTIME,
        architecture: "arm64",
        timeout: spec.timeout,
        memory: spec.memory,
        ...(spec.storage ? { storage: spec.storage } : {}),
        link: spec.links.map((name) => links[name]),
        ...(spec.install || spec.splitting
          ? { nodejs: { ...(spec.install ? { install: [...spec.install] } : {}), ...(spec.splitting ? { splitting: true } : {}) } }
          : {}),
        // What Lambda's SQS event source needs of its function's role (the subscription is made by ARN below).
        ...(spec.queue
          ? {
              permissions: [
                {
                  actions: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
                  resources: [queues[spec.queue].arn],
                },
              ],
            }
          : {}),
        ...(spec.reservedConcurrency === undefined ? {} : { concurrency: { reserved: spec.reservedConcurrency } }),
        ...(spec.asyncRetries === undefined ? {} : { retries: spec.asyncRetries }),
      });
      return [key, fn];
    }),
  ) as Record<FunctionKey, sst.aws.Function>;

  const routeKeys = FUNCTION_KEYS.flatMap((key) => functionSpec(key).route ?? []);
  // Stage route settings may only name routes that exist, so the stage waits for them (on a first
  // deploy it would otherwise be created first and refused).
  const routesCreated = deferred<$util.Resource[]>();
  const api = new sst.aws.ApiGatewayV2("Api", {
    transform: {
      stage: (stage, options) => {
        stage.defaultRouteSettings = throttleSettings(config.throttle.default);
        stage.routeSettings = routeKeys.filter(isPublicRoute).map((routeKey) => ({ routeKey, ...throttleSettings(config.throttle.public) }));
        options.dependsOn = routesCreated.promise;
      },
    },
    cors: {
      allowOrigins: [...config.appOrigins],
      // DELETE: a browser cancels its own upload (DELETE /uploads/{uploadId}).
      allowMethods: ["GET", "POST", "PUT", "DELETE"],
      allowHeaders: ["authorization", "content-type"],
      // Not CORS-safelisted, so hidden from a cross-origin script unless exposed: the client reads
      // `date` to correct its clock skew and `retry-after` to back off on 429/503.
      exposeHeaders: ["date", "retry-after"],
      maxAge: "1 hour",
    },
  });

  const routes: $util.Resource[] = [];
  for (const key of FUNCTION_KEYS) {
    const spec = functionSpec(key);
    if (spec.route) routes.push(api.route(spec.route, functions[key].arn));
    // One job per invocation (a photo fills the memory), failures reported per message.
    if (spec.queue) queues[spec.queue].subscribe(functions[key].arn, { batch: { size: 1, partialResponses: true } });
    if (spec.schedule) {
      new sst.aws.CronV2(`${componentName(key)}Schedule`, {
        function: functions[key],
        schedule: spec.schedule,
        event: SCHEDULED_EVENT,
      });
    }
  }

  routesCreated.resolve(routes);

  // Resource-based policy: each configured caller role may invoke the internal functions it is
  // granted, nothing else is granted here. (Lambda resource policies cannot deny: principals of
  // this AWS account whose own IAM policy allows lambda:InvokeFunction on these functions can
  // still invoke them — keep such broad grants out of the account, see docs/deploy.md.)
  for (const key of INTERNAL_FUNCTION_KEYS) {
    const fn = functions[key];
    for (const roleArn of callersOf(config, key)) {
      new aws.lambda.Permission(
        `${componentName(key)}InvokeBy${shortHash(roleArn)}`,
        {
          action: "lambda:InvokeFunction",
          function: fn.name,
          principal: roleArn,
        },
        { parent: fn },
      );
    }
  }

  return { api, functions };
}

function throttleSettings(throttle: RouteThrottle) {
  return { throttlingRateLimit: throttle.rateLimit, throttlingBurstLimit: throttle.burstLimit };
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => (resolve = done));
  return { promise, resolve };
}

/** Stable per role ARN, so reordering the config does not replace permissions. */
function shortHash(value: string): string {
  return createHash("sha256").update(value).digest("hex").slice(0, 10);
}
