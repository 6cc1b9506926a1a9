/**
 * The virus scanner: a container-image Lambda built from `scanner/Dockerfile` (Debian's ClamAV and
 * Node), invoked synchronously by the functions linked to `ScannerFunction` (consume and the public
 * signature upload), plus the same image as a scheduled freshclam run that publishes the virus
 * definitions to an S3 bucket, from which every scanner container loads them on its first scan.
 *
 * The scanner holds no storage token: callers send a short-lived presigned GET URL (or small
 * content inline). Its role may only read the definitions bucket; the updater's may also write it.
 * No resource policy grants invoke: only roles with an IAM grant in this account (the linked
 * functions) can call it.
 */
import { SCANNER_ROLES, type ScannerRole } from "../scanner/src/roles.js";
import { IMAGE_ARCHITECTURE, pushedImage } from "./container-image.js";

export const SCANNER_SETTINGS = {
  /**
   * clamd holds the official definitions in about 1.2 GB, twice that for a moment while it reloads
   * them (scans go on meanwhile); more memory also means more CPU for a cold start.
   */
  memoryMb: 4096,
  /** The definitions (≈ 400 MB unpacked) and clamd's temporary files live in /tmp. */
  ephemeralStorageMb: 2048,
  /** A cold container downloads and loads the definitions (tens of seconds) before its first scan. */
  timeoutSeconds: 90,
  /**
   * At most this many scans at once; more are throttled, which callers answer with 503 (fail closed).
   * Sized for every scanning function at its own reservation at once (stacks/concurrency.ts).
   */
  reservedConcurrency: 40,
  /** ClamAV publishes daily updates several times a day; its mirrors ask for at most one check an hour. */
  definitionsSchedule: "rate(3 hours)",
  definitionsTimeoutSeconds: 600,
  /**
   * A clean verdict needs definitions built at most this long ago (ClamAV publishes daily several
   * times a day): older, every scan is an error (fail closed) and the stale-definitions alarm fires.
   */
  definitionsMaxAgeHours: 48,
  /** The updater-stopped alarm fires when no update completed in this long (two missed runs). */
  definitionsUpdateAlarmHours: 6,
  /** One freshclam run at a time. */
  definitionsReservedConcurrency: 1,
  logRetentionDays: 30,
} as const;

export interface ScannerArgs {
  /** clamd's StreamMaxLength: the stage's scanMaxBytes (a longer stream is an error, not "clean"). */
  streamMaxBytes: number;
  /** `fitkit-uploads-<stage>-scanner`, and `…-scanner-definitions` for the updater. */
  functionName: string;
  /** Production keeps its image repository when the stage is removed. */
  retain: boolean;
}

export async function createScanner(args: ScannerArgs) {
  // Read by the scanner's own role only: no CORS, no public access.
  const definitions = new sst.aws.Bucket("ScannerDefinitions", { cors: false });

  const { imageUri } = await pushedImage("Scanner", { repositoryName: args.functionName, dockerfile: "scanner/Dockerfile", retain: args.retain });

  const scanner = imageFunction("Scanner", {
    name: args.functionName,
    imageUri,
    command: SCANNER_ROLES.scan,
    definitionsAccess: ["s3:GetObject", "s3:ListBucket"],
    definitions,
    memoryMb: SCANNER_SETTINGS.memoryMb,
    timeoutSeconds: SCANNER_SETTINGS.timeoutSeconds,
    reservedConcurrency: SCANNER_SETTINGS.reservedConcurrency,
    environment: { SCAN_STREAM_MAX_BYTES: String(args.streamMaxBytes), DEFINITIONS_MAX_AGE_HOURS: String(SCANNER_SETTINGS.definitionsMaxAgeHours) },
  });

  const updater = imageFunction("ScannerDefinitions", {
    name: `${args.functionName}-definitions`,
    imageUri,
    command: SCANNER_ROLES.updateDefinitions,
    definitionsAccess: ["s3:GetObject", "s3:ListBucket", "s3:PutObject", "s3:DeleteObject"],
    definitions,
    memoryMb: 1024,
    timeoutSeconds: SCANNER_SETTINGS.definitionsTimeoutSeconds,
    reservedConcurrency: SCANNER_SETTINGS.definitionsReservedConcurrency,
    environment: {},
  });
  // The schedule is the retry: a failed run is reported (alarm), not repeated against ClamAV's mirrors.
  new aws.lambda.FunctionEventInvokeConfig("ScannerDefinitionsInvokeConfig", { functionName: updater.name, maximumRetryAttempts: 0 });
  new sst.aws.CronV2("ScannerDefinitionsSchedule", { function: updater.arn, schedule: SCANNER_SETTINGS.definitionsSchedule });

  return { scanner, updater, definitions };
}

interface ImageFunctionArgs {
  name: string;
  /** `<repository>@sha256:…`: Lambda refuses a tag and a digest together. */
  imageUri: $util.Input<string>;
  /** The image's role (scanner/src/main.ts). */
  command: ScannerRole;
  definitions: sst.aws.Bucket;
  definitionsAccess: string[];
  memoryMb: number;
  timeoutSeconds: number;
  reservedConcurrency: number;
  environment: Record<string, string>;
}

function imageFunction(component: string, args: ImageFunctionArgs): aws.lambda.Function {
  const role = new aws.iam.Role(`${component}Role`, {
    assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: "lambda.amazonaws.com" }),
    managedPolicyArns: ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
    inlinePolicies: [
      {
        name: "definitions",
        policy: $jsonStringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Action: args.definitionsAccess,
              Resource: [args.definitions.arn, $interpolate`${args.definitions.arn}/*`],
            },
          ],
        }),
      },
    ],
  });
  const logGroup = new aws.cloudwatch.LogGroup(`${component}LogGroup`, {
    name: `/aws/lambda/${args.name}`,
    retentionInDays: SCANNER_SETTINGS.logRetentionDays,
  });
  return new aws.lambda.Function(`${component}Function`, {
    name: args.name,
    description: `fitkit-uploads virus scanner: ${args.command}`,
    packageType: "Image",
    imageUri: args.imageUri,
    imageConfig: { commands: [args.command] },
    architectures: [IMAGE_ARCHITECTURE],
    role: role.arn,
    memorySize: args.memoryMb,
    ephemeralStorage: { size: SCANNER_SETTINGS.ephemeralStorageMb },
    timeout: args.timeoutSeconds,
    reservedConcurrentExecutions: args.reservedConcurrency,
    loggingConfig: { logFormat: "Text", logGroup: logGroup.name },
    // STAGE: the dimension of the image's metrics, which the alarms (stacks/alarms.ts) watch per stage.
    environment: { variables: { DEFINITIONS_BUCKET: args.definitions.name, STAGE: $app.stage, ...args.environment } },
  });
}

export type Scanner = Awaited<ReturnType<typeof createScanner>>;
