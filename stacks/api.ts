/**
 * One Lambda per handler, derived from the table in `stacks/functions.ts`: HTTP functions behind
 * API Gateway v2, internal functions with no route (invocable only by the caller roles of the
 * stage config), the sweeper also on a schedule, queue subscribers on their queue.
 */
import { createHash } from "node:crypto";
// The schedule's payload is owned by the handlers that must recognise it.
import { SCHEDULED_EVENT } from "../functions/lib/scheduled-event.js";
import { apiCorsRule } from "./cors.js";
import { componentName, FUNCTION_KEYS, FUNCTIONS, type FunctionKey, functionSpec, INTERNAL_FUNCTION_KEYS, isPublicRoute, type LinkName } from "./functions.js";
import type { LinkTarget } from "./links.js";
import type { Queues } from "./queues.js";
import { callersOf, type RouteThrottle, type StageConfig } from "./stage-config.js";

export const LAMBDA_RUNTIME = "nodejs22.x";

/** `fitkit-uploads-production-consume`: predictable, so callers can name what they invoke. */
export function physicalFunctionName(key: FunctionKey): string {
  return `${$app.name}-${$app.stage}-${key}`;
}

/** The functions deployed as container images (`image` in their row): built by their own module, not by SST. */
export type ImageFunctionKey = {
  [K in FunctionKey]: (typeof FUNCTIONS)[K] extends { image: object } ? K : never;
}[FunctionKey];
export const IMAGE_FUNCTION_KEYS = FUNCTION_KEYS.filter((key): key is ImageFunctionKey => "image" in FUNCTIONS[key]);

export type DeployedFunctions = { [K in FunctionKey]: K extends ImageFunctionKey ? aws.lambda.Function : sst.aws.Function };

export function createApi(args: {
  links: Record<LinkName, LinkTarget>;
  queues: Queues;
  config: StageConfig;
  /** The container-image functions, already made (stacks/media-worker.ts). */
  imageFunctions: Record<ImageFunctionKey, aws.lambda.Function>;
}) {
  const { links, queues, config } = args;

  const functions = Object.fromEntries(
    FUNCTION_KEYS.map((key) => {
      if (Object.hasOwn(args.imageFunctions, key)) return [key, args.imageFunctions[key as ImageFunctionKey]];
      const spec = functionSpec(key);
      const fn = new sst.aws.Function(componentName(key), {
        name: physicalFunctionName(key),
        description: spec.route ? `fitkit-uploads ${spec.route}` : spec.queue ? `fitkit-uploads ${spec.queue} subscriber` : `fitkit-uploads internal: ${key}`,
        handler: spec.handler,
        runtime: LAMBDA_RUNTIME,
        architecture: "arm64",
        timeout: spec.timeout,
        memory: spec.memory,
        logging: { retention: config.logRetention },
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
  ) as DeployedFunctions;

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
    // One rule for API Gateway and the local stack (stacks/cors.ts).
    cors: (({ maxAgeSeconds, ...rule }) => ({ ...rule, maxAge: `${maxAgeSeconds} seconds` as const }))(apiCorsRule(config.appOrigins)),
  });

  const routes: $util.Resource[] = [];
  for (const key of FUNCTION_KEYS) {
    const spec = functionSpec(key);
    if (spec.route) routes.push(api.route(spec.route, functions[key].arn));
    // One job per invocation (a photo fills the memory), failures reported per message.
    if (spec.queue) {
      const maximumConcurrency = spec.reservedConcurrency;
      queues[spec.queue].subscribe(functions[key].arn, {
        batch: { size: 1, partialResponses: true },
        // The poller hands over at most as many jobs as the function may run (its reservation):
        // without this, a burst is received, throttled, and burns receives into the DLQ.
        ...(maximumConcurrency === undefined
          ? {}
          : {
              transform: {
                eventSourceMapping: (mapping) => {
                  mapping.scalingConfig = { maximumConcurrency };
                },
              },
            }),
      });
    }
    if (spec.schedule) {
      new sst.aws.CronV2(`${componentName(key)}Schedule`, {
        // Scheduled functions are SST's (no image function has a schedule).
        function: functions[key] as sst.aws.Function,
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
