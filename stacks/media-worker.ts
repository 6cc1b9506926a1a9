/**
 * The media worker (`process-media`) as a container-image Lambda built from
 * `media-worker/Dockerfile`: Debian stable's `nodejs`, `ffmpeg`, `libheif-examples` and util-linux
 * (prlimit) — native tools that get the distribution's security fixes — with the handler's bundle.
 * SST builds Node functions as zip packages only, so this one is a plain `aws.lambda.Function`,
 * wired like the others from its row of the function table (`stacks/functions.ts`): memory,
 * timeout, `/tmp`, reserved concurrency, its links and its side of the media queue.
 *
 * Links reach it as `SST_RESOURCE_<Name>` environment variables (JSON of the link's properties,
 * what `sst/resource` reads; Lambda encrypts environment variables at rest), since SST's encrypted
 * link file is written into zip packages only. Only the links of its row are given.
 */
import { IMAGE_ARCHITECTURE, pushedImage } from "./container-image.js";
import type { FunctionSpec, LinkName } from "./functions.js";
import type { LinkTarget } from "./links.js";
import type { LogRetention } from "./stage-config.js";

/** The stage's log retention in days, as SST maps it for its own functions (platform src/components/aws/logging.ts, RETENTION). */
const RETENTION_DAYS: Record<LogRetention, number> = { "1 month": 30, "3 months": 90, "6 months": 180, "1 year": 365 };

export interface MediaWorkerArgs {
  /** `fitkit-uploads-<stage>-process-media`. */
  functionName: string;
  spec: FunctionSpec & { image: { dockerfile: string } };
  links: Record<LinkName, LinkTarget>;
  /** The queue it consumes: its role may receive, delete and extend jobs on it, nothing else. */
  queueArn: $util.Input<string>;
  /** Production keeps its image repository when the stage is removed. */
  retain: boolean;
  /** The stage's log retention, as every other function of the stage keeps its logs. */
  logRetention: LogRetention;
}

/** What `sst/resource` reads for each link: `SST_RESOURCE_<Name>` = JSON of its properties, and the app. */
export function linkEnvironment(names: readonly LinkName[], links: Record<LinkName, LinkTarget>): Record<string, $util.Output<string>> {
  const environment: Record<string, $util.Output<string>> = {
    SST_RESOURCE_App: $jsonStringify({ name: $app.name, stage: $app.stage }),
  };
  for (const name of names) {
    const link = (links[name] as unknown as { getSSTLink(): { properties: Record<string, unknown> } }).getSSTLink();
    environment[`SST_RESOURCE_${name}`] = $jsonStringify(link.properties);
  }
  return environment;
}

const seconds = (duration: string | undefined, fallback: number): number => {
  if (!duration) return fallback;
  const [value, unit] = duration.split(" ") as [string, string];
  return Number(value) * (unit.startsWith("minute") ? 60 : 1);
};
const megabytes = (size: string | undefined, fallback: number): number => (size ? Number(size.split(" ")[0]) : fallback);

export async function createMediaWorker(args: MediaWorkerArgs) {
  const { imageUri } = await pushedImage("MediaWorker", {
    repositoryName: args.functionName,
    dockerfile: args.spec.image.dockerfile,
    retain: args.retain,
  });

  const role = new aws.iam.Role("ProcessMediaRole", {
    assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: "lambda.amazonaws.com" }),
    managedPolicyArns: ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
    inlinePolicies: [
      {
        name: "media-queue",
        policy: $jsonStringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
              Resource: [args.queueArn],
            },
          ],
        }),
      },
    ],
  });
  const logGroup = new aws.cloudwatch.LogGroup("ProcessMediaLogGroup", {
    name: `/aws/lambda/${args.functionName}`,
    retentionInDays: RETENTION_DAYS[args.logRetention],
  });
  const fn = new aws.lambda.Function("ProcessMediaFunction", {
    name: args.functionName,
    description: "fitkit-uploads MediaQueue subscriber (container image: Debian ffmpeg, libheif)",
    packageType: "Image",
    imageUri,
    architectures: [IMAGE_ARCHITECTURE],
    role: role.arn,
    memorySize: megabytes(args.spec.memory, 1024),
    ephemeralStorage: { size: megabytes(args.spec.storage, 512) },
    timeout: seconds(args.spec.timeout, 20),
    ...(args.spec.reservedConcurrency === undefined ? {} : { reservedConcurrentExecutions: args.spec.reservedConcurrency }),
    loggingConfig: { logFormat: "Text", logGroup: logGroup.name },
    environment: { variables: linkEnvironment(args.spec.links, args.links) },
  });
  return { fn, role };
}
