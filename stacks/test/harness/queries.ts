/**
 * Reads a synthesised app the way AWS would wire it: routes → integrations → Lambda by ARN,
 * permissions by function, schedules by target — not through our own table, so that a mistake
 * in the table shows up as a wrong wiring.
 */
import type { BuildRequest, RecordedResource, Synthesis } from "./synthesize.js";

export const TYPES = {
  lambda: "aws:lambda/function:Function",
  permission: "aws:lambda/permission:Permission",
  functionUrl: "aws:lambda/functionUrl:FunctionUrl",
  role: "aws:iam/role:Role",
  api: "aws:apigatewayv2/api:Api",
  route: "aws:apigatewayv2/route:Route",
  integration: "aws:apigatewayv2/integration:Integration",
  schedule: "aws:scheduler/schedule:Schedule",
  sqsQueue: "aws:sqs/queue:Queue",
  eventSourceMapping: "aws:lambda/eventSourceMapping:EventSourceMapping",
  r2Bucket: "cloudflare:index/r2Bucket:R2Bucket",
  r2Cors: "cloudflare:index/r2BucketCors:R2BucketCors",
  r2Lifecycle: "cloudflare:index/r2BucketLifecycle:R2BucketLifecycle",
  r2Lock: "cloudflare:index/r2BucketLock:R2BucketLock",
  stage: "aws:apigatewayv2/stage:Stage",
  invokeConfig: "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
  image: "docker-build:index:Image",
  ecrRepository: "aws:ecr/repository:Repository",
  s3Bucket: "aws:s3/bucket:Bucket",
  alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  snsTopic: "aws:sns/topic:Topic",
  snsSubscription: "aws:sns/topicSubscription:TopicSubscription",
  r2CustomDomain: "cloudflare:index/r2CustomDomain:R2CustomDomain",
  r2ManagedDomain: "cloudflare:index/r2ManagedDomain:R2ManagedDomain",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  metricFilter: "aws:cloudwatch/logMetricFilter:LogMetricFilter",
  accountToken: "cloudflare:index/accountToken:AccountToken",
} as const;

export function ofType(synthesis: Synthesis, type: string): RecordedResource[] {
  return synthesis.resources.filter((resource) => resource.type === type);
}

export function theOne(synthesis: Synthesis, type: string, predicate: (resource: RecordedResource) => boolean = () => true): RecordedResource {
  const found = ofType(synthesis, type).filter(predicate);
  if (found.length !== 1) throw new Error(`Expected exactly one ${type}, found ${found.length}: ${found.map((r) => r.name).join(", ")}`);
  return found[0]!;
}

/** A deployed Lambda, identified by its handler (`functions/x.handler`). */
export interface DeployedFunction {
  handler: string;
  lambda: RecordedResource;
  build: BuildRequest;
  arn: string;
  name: string;
}

/** The Lambdas SST builds from a handler (zip packages); container-image Lambdas are in `imageFunctions`. */
export function deployedFunctions(synthesis: Synthesis): Map<string, DeployedFunction> {
  const byHandler = new Map<string, DeployedFunction>();
  for (const lambda of ofType(synthesis, TYPES.lambda).filter((fn) => fn.inputs.packageType !== "Image")) {
    // SST names the Lambda resource `<Component>Function`; Runtime.Build is keyed by component.
    const componentName = lambda.name.replace(/Function$/, "");
    const build = synthesis.builds.get(componentName);
    if (!build) throw new Error(`No build was requested for ${lambda.name}`);
    const handler: string = lambda.inputs.handler;
    if (byHandler.has(handler)) throw new Error(`Two Lambdas run ${handler}`);
    byHandler.set(handler, { handler, lambda, build, arn: lambda.state.arn, name: lambda.inputs.name });
  }
  return byHandler;
}

/** Container-image Lambdas, by function name. */
export function imageFunctions(synthesis: Synthesis): Map<string, RecordedResource> {
  return new Map(
    ofType(synthesis, TYPES.lambda)
      .filter((fn) => fn.inputs.packageType === "Image")
      .map((fn) => [fn.inputs.name, fn]),
  );
}

/** Every IAM statement a role's inline policies grant, as written. */
export function roleStatements(role: RecordedResource): Record<string, unknown>[] {
  return (role.inputs.inlinePolicies ?? []).flatMap((policy: { policy: string }) => JSON.parse(policy.policy).Statement);
}

export function handlerOfArn(synthesis: Synthesis, arn: string): string {
  const fn = [...deployedFunctions(synthesis).values()].find((candidate) => candidate.arn === arn);
  if (!fn) throw new Error(`No Lambda has ARN ${arn}`);
  return fn.handler;
}

/** `"POST /uploads"` → the handler that API Gateway invokes for it. */
export function routeTable(synthesis: Synthesis): Record<string, string> {
  const integrations = ofType(synthesis, TYPES.integration);
  return Object.fromEntries(
    ofType(synthesis, TYPES.route).map((route) => {
      const integrationId = String(route.inputs.target).replace(/^integrations\//, "");
      const integration = integrations.find((candidate) => candidate.id === integrationId);
      if (!integration) throw new Error(`Route ${route.inputs.routeKey} targets no integration`);
      return [route.inputs.routeKey, handlerOfArn(synthesis, integration.inputs.integrationUri)];
    }),
  );
}

/** The resource-based permissions on one function, as `{ action, principal, sourceArn? }`. */
export function invokePermissions(synthesis: Synthesis, fn: DeployedFunction) {
  return ofType(synthesis, TYPES.permission)
    .filter((permission) => permission.inputs.function === fn.arn || permission.inputs.function === fn.name)
    .map((permission) => ({
      action: permission.inputs.action,
      principal: permission.inputs.principal,
      ...(permission.inputs.sourceArn ? { sourceArn: permission.inputs.sourceArn } : {}),
    }));
}

/** A link's properties as bundled, without SST's `type` tag. */
export function linkValues(build: BuildRequest): Record<string, Record<string, unknown>> {
  return Object.fromEntries(Object.entries(build.links).map(([name, { type: _type, ...properties }]) => [name, properties]));
}

/** Everything a function's package and configuration would carry, as text. */
export function everythingDeliveredTo(fn: DeployedFunction): string {
  return JSON.stringify({ links: fn.build.links, environment: fn.lambda.inputs.environment });
}
