/**
 * The deployed wiring, checked offline against SST's real components (see harness/synthesize.ts).
 * The expectations below restate the deployment requirements; they are deliberately not derived
 * from stacks/functions.ts, so a mistake in that table fails here.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { TIME_LIMIT } from "../../functions/lib/time-limit.js";
import {
  type DeployedFunction,
  deployedFunctions,
  everythingDeliveredTo,
  imageFunctions,
  invokePermissions,
  linkValues,
  ofType,
  roleStatements,
  routeTable,
  TYPES,
  theOne,
} from "./harness/queries.js";
import { REPO_ROOT, type RecordedResource, type Synthesis, synthesize } from "./harness/synthesize.js";

const RECORDS_API_ROLE = "arn:aws:iam::111111111111:role/fitkit-records-api";
const ADMIN_ROLE = "arn:aws:iam::222222222222:role/service/fitkit-admin";
const APP_ORIGINS = ["https://app.fitkit.test", "http://localhost:5173"];
const PUBLIC_MEDIA_DOMAIN = { domain: "media.fitkit.test", zoneId: "0123456789abcdef0123456789abcdef" };

const SECRETS = {
  R2AccountId: "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
  UpstashRedisRestUrl: "https://eu1-fitkit.upstash.io",
  UpstashRedisRestToken: "upstash-rest-token",
  ClerkJwtKey: "-----BEGIN PUBLIC KEY-----clerk-jwt-key-----END PUBLIC KEY-----",
  ClerkAuthorizedParties: "https://app.fitkit.test,https://admin.fitkit.test",
  CloudflareCachePurgeToken: "cloudflare-cache-purge-token",
};

const UPLOAD_SETTINGS = {
  presignTtlSeconds: 900,
  stagingGraceSeconds: 3600,
  orgQuotaBytes: 10_737_418_240,
  userInFlightBytes: 2_147_483_648,
  presignRatePerMinute: 60,
  publicPutRatePerMinute: 20,
  scanMaxBytes: 104_857_600,
  multipartThresholdBytes: 67_108_864,
  multipartPartBytes: 8_388_608,
  multipartMaxLifetimeSeconds: 86_400,
  dependencyTimeoutMs: 5000,
  orphanAuditMaxUnknownPercent: 5,
  // A stage that is not production locks records/ for a day (storage.ts), and says so to the erasure.
  recordsRetentionSeconds: 86_400,
};

const EXPECTED_ROUTES = {
  "POST /uploads": "functions/presign.handler",
  "POST /uploads/signed-urls": "functions/signed-urls.handler",
  "GET /uploads/policy": "functions/upload-policy.handler",
  "PUT /public/signatures/{token}": "functions/public-signature-put.handler",
  "POST /public/signatures/{token}/uploads": "functions/public-signature-upload-request.handler",
  "POST /public/signatures/{token}/complete": "functions/public-signature-complete.handler",
  "GET /health": "functions/health.handler",
  "POST /uploads/{uploadId}/parts": "functions/upload-parts.handler",
  "GET /uploads/{uploadId}/parts": "functions/list-upload-parts.handler",
  "POST /uploads/{uploadId}/complete": "functions/complete-upload.handler",
  "DELETE /uploads/{uploadId}": "functions/cancel-upload.handler",
};

/** Internal handler → the roles that may invoke it (from the stage config below). */
const EXPECTED_INVOKERS = {
  "functions/consume.handler": [RECORDS_API_ROLE, ADMIN_ROLE],
  "functions/release.handler": [RECORDS_API_ROLE, ADMIN_ROLE],
  "functions/publish.handler": [ADMIN_ROLE],
  "functions/unpublish.handler": [ADMIN_ROLE],
  "functions/erase-user.handler": [ADMIN_ROLE],
  "functions/erase-org.handler": [ADMIN_ROLE],
  "functions/export-user.handler": [ADMIN_ROLE],
  "functions/issue-signature-token.handler": [RECORDS_API_ROLE, ADMIN_ROLE],
  "functions/usage.handler": [ADMIN_ROLE],
  "functions/set-quota.handler": [ADMIN_ROLE],
  "functions/sweeper.handler": [ADMIN_ROLE],
  "functions/orphan-audit.handler": [ADMIN_ROLE],
};

const EXPECTED_LINKS = {
  "functions/presign.handler": ["MediaBucket", "R2MediaWriter", "Redis", "Clerk", "UploadSettings"],
  "functions/signed-urls.handler": ["MediaBucket", "ComplianceBucket", "RecordsBucket", "R2Reader", "Clerk", "Redis", "UploadSettings"],
  "functions/public-signature-put.handler": ["ComplianceBucket", "R2ComplianceWriter", "Redis", "ScannerFunction", "UploadSettings"],
  "functions/public-signature-upload-request.handler": ["ComplianceBucket", "R2ComplianceWriter", "Redis", "UploadSettings"],
  "functions/public-signature-complete.handler": ["ComplianceBucket", "R2ComplianceWriter", "Redis", "ScannerFunction", "UploadSettings"],
  "functions/upload-policy.handler": ["Clerk"],
  "functions/consume.handler": [
    "MediaBucket",
    "ComplianceBucket",
    "RecordsBucket",
    "R2MediaWriter",
    "R2ComplianceWriter",
    "R2RecordsWriter",
    "Redis",
    "ScannerFunction",
    "UploadSettings",
    "MediaQueue",
  ],
  "functions/release.handler": ["MediaBucket", "ComplianceBucket", "R2MediaWriter", "R2ComplianceWriter", "Redis", "UploadSettings", "PublicMedia"],
  "functions/publish.handler": ["MediaBucket", "R2MediaReader", "Redis", "PublicMedia", "UploadSettings"],
  "functions/unpublish.handler": ["Redis", "PublicMedia", "UploadSettings"],
  "functions/erase-user.handler": ["MediaBucket", "ComplianceBucket", "R2MediaWriter", "R2ComplianceWriter", "Redis", "UploadSettings", "PublicMedia"],
  "functions/erase-org.handler": [
    "MediaBucket",
    "ComplianceBucket",
    "RecordsBucket",
    "R2MediaWriter",
    "R2ComplianceWriter",
    "R2Reader",
    "Redis",
    "UploadSettings",
    "PublicMedia",
  ],
  "functions/export-user.handler": ["MediaBucket", "ComplianceBucket", "RecordsBucket", "R2MediaReader", "Redis", "UploadSettings"],
  "functions/upload-parts.handler": ["MediaBucket", "R2MediaWriter", "Redis", "Clerk", "UploadSettings"],
  "functions/list-upload-parts.handler": ["MediaBucket", "R2MediaWriter", "Redis", "Clerk", "UploadSettings"],
  "functions/complete-upload.handler": ["MediaBucket", "R2MediaWriter", "Redis", "Clerk", "UploadSettings"],
  "functions/cancel-upload.handler": ["MediaBucket", "R2MediaWriter", "Redis", "Clerk", "UploadSettings"],
  "functions/issue-signature-token.handler": ["Redis", "UploadSettings"],
  "functions/usage.handler": ["Redis", "UploadSettings"],
  "functions/set-quota.handler": ["Redis", "UploadSettings"],
  "functions/sweeper.handler": ["MediaBucket", "ComplianceBucket", "R2MediaWriter", "R2ComplianceWriter", "Redis", "UploadSettings", "MediaQueue"],
  "functions/orphan-audit.handler": ["MediaBucket", "ComplianceBucket", "R2MediaWriter", "R2ComplianceWriter", "Redis", "UploadSettings"],
  "functions/health.handler": [],
  "functions/process-media.handler": ["MediaBucket", "R2MediaWriter", "Redis", "UploadSettings"],
};

/** The only IAM grants: sending to the media queue (consume's hand-off, the sweeper's re-drive) and consuming it. */
const SEND_TO_MEDIA_QUEUE = ["sqs:SendMessage"];
const CONSUME_MEDIA_QUEUE = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"];
const EXPECTED_QUEUE_ACTIONS: Record<string, string[]> = {
  "functions/consume.handler": SEND_TO_MEDIA_QUEUE,
  "functions/sweeper.handler": SEND_TO_MEDIA_QUEUE,
  "functions/process-media.handler": CONSUME_MEDIA_QUEUE,
};

/** The functions that scan (and so may invoke the scanner): consume and the public signature uploads. */
const SCANNING_HANDLERS = ["functions/consume.handler", "functions/public-signature-put.handler", "functions/public-signature-complete.handler"];

let app: Synthesis;
let functions: Map<string, DeployedFunction>;
let mediaBucketName: string;
let complianceBucketName: string;
let publicBucketName: string;
let recordsBucketName: string;

/** The S3 credentials of the stack's R2 token `component`, as Cloudflare defines them: id, and SHA-256 (hex) of the value. */
function tokenCredentials(component: string) {
  const token = theOne(app, TYPES.accountToken, (t) => t.name === component);
  return {
    endpoint: `https://${SECRETS.R2AccountId}.r2.cloudflarestorage.com`,
    accessKeyId: token.id,
    secretAccessKey: createHash("sha256").update(token.state.value).digest("hex"),
  };
}

function scanner(): RecordedResource {
  const found = imageFunctions(app).get("fitkit-uploads-wiring-scanner");
  if (!found) throw new Error("No scanner Lambda");
  return found;
}

/** Handlers deployed as container images (not SST zip packages), by handler → function name. */
const IMAGE_HANDLERS: Record<string, string> = { "functions/process-media.handler": "fitkit-uploads-wiring-process-media" };

/** The media worker: the container-image Lambda that runs process-media. */
function processMedia(): RecordedResource {
  const found = imageFunctions(app).get(IMAGE_HANDLERS["functions/process-media.handler"]!);
  if (!found) throw new Error("No process-media Lambda");
  return found;
}

/** The links a container-image Lambda gets: its `SST_RESOURCE_<Name>` variables (what `sst/resource` reads), App aside. */
function imageLinkValues(lambda: RecordedResource): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    Object.entries<string>(lambda.inputs.environment.variables)
      .filter(([name]) => name.startsWith("SST_RESOURCE_") && name !== "SST_RESOURCE_App")
      .map(([name, value]) => [name.slice("SST_RESOURCE_".length), JSON.parse(value)]),
  );
}

function fn(handler: string): DeployedFunction {
  const found = functions.get(handler);
  if (!found) throw new Error(`No Lambda runs ${handler}`);
  return found;
}

beforeAll(async () => {
  app = await synthesize({
    stage: "wiring",
    secrets: SECRETS,
    program: async () => {
      const { resolveStageConfig } = await import("../stage-config.js");
      const { createUploadsApp } = await import("../app.js");
      const config = resolveStageConfig("wiring", {
        wiring: {
          appOrigins: APP_ORIGINS,
          publicMediaDomain: PUBLIC_MEDIA_DOMAIN,
          internalCallers: [
            { roleArn: RECORDS_API_ROLE, functions: ["consume", "release", "issue-signature-token"] },
            { roleArn: ADMIN_ROLE, functions: "all" },
          ],
          throttle: { public: { rateLimit: 5, burstLimit: 10 } },
          alarmEmails: ["oncall@fitkit.test"],
          uploadSettings: { presignTtlSeconds: 900 },
        },
      });
      return createUploadsApp(config);
    },
  });
  functions = deployedFunctions(app);
  const buckets = ofType(app, TYPES.r2Bucket);
  mediaBucketName = theOne(app, TYPES.r2Bucket, (b) => b.name === "MediaBucketBucket").state.name;
  complianceBucketName = theOne(app, TYPES.r2Bucket, (b) => b.name === "ComplianceBucketBucket").state.name;
  publicBucketName = theOne(app, TYPES.r2Bucket, (b) => b.name === "PublishedBucket").state.name;
  recordsBucketName = theOne(app, TYPES.r2Bucket, (b) => b.name === "RecordsBucketBucket").state.name;
  expect(buckets).toHaveLength(4);
});

describe("functions", () => {
  it("every handler is its own Lambda, and there is no other", () => {
    expect([...functions.keys()].sort()).toEqual(
      Object.keys(EXPECTED_LINKS)
        .filter((handler) => !IMAGE_HANDLERS[handler])
        .sort(),
    );
    expect([...imageFunctions(app).keys()].sort()).toEqual(
      [...Object.values(IMAGE_HANDLERS), "fitkit-uploads-wiring-scanner", "fitkit-uploads-wiring-scanner-definitions"].sort(),
    );
  });

  it("every Lambda runs Node 22 (nodejs22.x), as built and as deployed", () => {
    for (const deployed of functions.values()) {
      expect({ handler: deployed.handler, deployed: deployed.lambda.inputs.runtime, built: deployed.build.runtime }).toEqual({
        handler: deployed.handler,
        deployed: "nodejs22.x",
        built: "nodejs22.x",
      });
    }
  });

  it("no function has an IAM permission of its own but invoking the scanner (the scanning functions) and its side of the media queue", () => {
    const scannerArn = scanner().state.arn;
    const mediaQueueArn = theOne(app, TYPES.sqsQueue, (q) => q.name === "MediaJobsQueue").state.arn;
    const sorted = (list: unknown[]) => [...list].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    for (const deployed of functions.values()) {
      const role = theOne(app, TYPES.role, (r) => r.name === deployed.lambda.name.replace(/Function$/, "Role"));
      const actions = EXPECTED_QUEUE_ACTIONS[deployed.handler];
      const expected = [
        ...(SCANNING_HANDLERS.includes(deployed.handler) ? [{ actions: ["lambda:InvokeFunction"], effect: "Allow", resources: [scannerArn] }] : []),
        ...(actions ? [{ actions, effect: "Allow", resources: [mediaQueueArn] }] : []),
      ];
      expect({ handler: deployed.handler, statements: sorted(roleStatements(role)) }).toEqual({ handler: deployed.handler, statements: sorted(expected) });
    }
  });

  it("reserves concurrency for consume and the sweeper (process-media: its image, below), and bounds the scanning public routes", () => {
    const reserved = Object.fromEntries(
      [...functions.values()].flatMap((deployed) => {
        const value = deployed.lambda.inputs.reservedConcurrentExecutions;
        return value === undefined || value === -1 ? [] : [[deployed.handler, value]];
      }),
    );
    expect(reserved).toEqual({
      "functions/consume.handler": 10,
      "functions/sweeper.handler": 2,
      "functions/public-signature-put.handler": 5,
      "functions/public-signature-complete.handler": 5,
    });
  });

  it("every routed function ends, with the app's own 503, before API Gateway's 30-second integration timeout", () => {
    // AWS API Gateway quotas: HTTP API "Maximum integration timeout: 30 seconds", not raisable.
    // functions/lib/time-limit.ts answers 503 timeoutEarlyInMillis before Lambda's timeout.
    for (const handler of Object.values(EXPECTED_ROUTES)) {
      const timeoutMs = fn(handler).lambda.inputs.timeout * 1000;
      expect({ handler, endsBefore29s: timeoutMs < 29_000, ours: timeoutMs - TIME_LIMIT.timeoutEarlyInMillis < timeoutMs }).toEqual({
        handler,
        endsBefore29s: true,
        ours: true,
      });
    }
  });

  it("logs are kept for the stage's retention", () => {
    const groups = ofType(app, TYPES.logGroup).filter((group) => String(group.inputs.name).startsWith("/aws/lambda/fitkit-uploads-wiring-"));
    const ours = groups.filter((group) => !String(group.inputs.name).includes("-scanner"));
    // SST's functions and the media worker's image function alike.
    expect(ours.length).toBe(functions.size + Object.keys(IMAGE_HANDLERS).length);
    expect(new Set(ours.map((group) => group.inputs.retentionInDays))).toEqual(new Set([30]));
  });

  it("no Lambda has a function URL", () => {
    expect(ofType(app, TYPES.functionUrl)).toEqual([]);
  });
});

describe("HTTP routes", () => {
  it("each route invokes the right handler, and only these routes exist", () => {
    expect(routeTable(app)).toEqual(EXPECTED_ROUTES);
  });

  it("API Gateway may invoke each routed function, and nobody else is granted", () => {
    const executionArn = theOne(app, TYPES.api).state.executionArn;
    for (const handler of Object.values(EXPECTED_ROUTES)) {
      expect({ handler, permissions: invokePermissions(app, fn(handler)) }).toEqual({
        handler,
        permissions: [{ action: "lambda:InvokeFunction", principal: "apigateway.amazonaws.com", sourceArn: `${executionArn}/*` }],
      });
    }
  });

  it("the stage throttles every route by default and the public routes tighter, as the stage config says", () => {
    const stage = theOne(app, TYPES.stage);
    expect({ default: stage.inputs.defaultRouteSettings, routes: stage.inputs.routeSettings }).toEqual({
      default: { throttlingRateLimit: 200, throttlingBurstLimit: 400 },
      routes: [
        { routeKey: "PUT /public/signatures/{token}", throttlingRateLimit: 5, throttlingBurstLimit: 10 },
        { routeKey: "POST /public/signatures/{token}/uploads", throttlingRateLimit: 5, throttlingBurstLimit: 10 },
        { routeKey: "POST /public/signatures/{token}/complete", throttlingRateLimit: 5, throttlingBurstLimit: 10 },
      ],
    });
  });

  it("the stage is created after the routes its settings name (API Gateway refuses settings for a missing route)", () => {
    const stage = theOne(app, TYPES.stage);
    for (const route of ofType(app, TYPES.route)) {
      expect({ route: route.inputs.routeKey, waitedFor: stage.options.dependencies.some((urn) => urn.endsWith(`::${route.name}`)) }).toEqual({
        route: route.inputs.routeKey,
        waitedFor: true,
      });
      expect(stage.order).toBeGreaterThan(route.order);
    }
  });

  it("the API's CORS allows the stage's app origins only, and exposes the headers the client reads (date, retry-after)", () => {
    expect(theOne(app, TYPES.api).inputs.corsConfiguration).toEqual({
      allowOrigins: APP_ORIGINS,
      allowMethods: ["GET", "POST", "PUT", "DELETE"],
      allowHeaders: ["authorization", "content-type"],
      exposeHeaders: ["date", "retry-after"],
      maxAge: 3600,
    });
  });
});

describe("internal functions", () => {
  it("have no route", () => {
    const routed = new Set(Object.values(routeTable(app)));
    for (const handler of Object.keys(EXPECTED_INVOKERS)) expect({ handler, routed: routed.has(handler) }).toEqual({ handler, routed: false });
  });

  it("may be invoked only by the caller roles configured for each of them", () => {
    for (const [handler, roles] of Object.entries(EXPECTED_INVOKERS)) {
      expect({ handler, permissions: invokePermissions(app, fn(handler)) }).toEqual({
        handler,
        permissions: roles.map((principal) => ({ action: "lambda:InvokeFunction", principal })),
      });
    }
  });

  it("have predictable names that callers can invoke", () => {
    expect(fn("functions/consume.handler").name).toBe("fitkit-uploads-wiring-consume");
    expect(app.outputs.functions).toMatchObject({ consume: "fitkit-uploads-wiring-consume", sweeper: "fitkit-uploads-wiring-sweeper" });
  });

  it("are printed by operation name, as the SDK's Lambda transport takes them", () => {
    expect(app.outputs.internalFunctions).toEqual({
      consume: "fitkit-uploads-wiring-consume",
      release: "fitkit-uploads-wiring-release",
      publish: "fitkit-uploads-wiring-publish",
      unpublish: "fitkit-uploads-wiring-unpublish",
      "erase-user": "fitkit-uploads-wiring-erase-user",
      "erase-org": "fitkit-uploads-wiring-erase-org",
      "export-user": "fitkit-uploads-wiring-export-user",
      "issue-signature-token": "fitkit-uploads-wiring-issue-signature-token",
      usage: "fitkit-uploads-wiring-usage",
      "set-quota": "fitkit-uploads-wiring-set-quota",
      sweeper: "fitkit-uploads-wiring-sweeper",
      "orphan-audit": "fitkit-uploads-wiring-orphan-audit",
    });
  });
});

/** The schedule that invokes `handler`. */
const scheduleOf = (handler: string) => theOne(app, TYPES.schedule, (s) => s.inputs.target.arn === fn(handler).arn);

describe("the sweeper", () => {
  it("runs every 5 minutes on a schedule that targets the sweeper function", () => {
    const schedule = scheduleOf("functions/sweeper.handler");
    expect({
      expression: schedule.inputs.scheduleExpression,
      state: schedule.inputs.state,
      target: schedule.inputs.target.arn,
    }).toEqual({ expression: "rate(5 minutes)", state: "ENABLED", target: fn("functions/sweeper.handler").arn });
  });

  it("is invoked by the schedule with a payload the sweeper recognises as a scheduled run", () => {
    // functions/sweeper.ts fails a scheduled run loudly when `source` is "aws.events".
    expect(JSON.parse(scheduleOf("functions/sweeper.handler").inputs.target.input)).toMatchObject({ source: "aws.events" });
  });

  it("a failed scheduled run is not retried by Lambda (the alarm reports it; the next run is 5 minutes away)", () => {
    const config = theOne(app, TYPES.invokeConfig, (c) => c.inputs.functionName === fn("functions/sweeper.handler").name);
    expect(config.inputs.maximumRetryAttempts).toBe(0);
  });
});

describe("the orphan audit", () => {
  it("runs daily, report-only: its schedule sends the scheduled-run payload, which the handler never lets delete", () => {
    const schedule = scheduleOf("functions/orphan-audit.handler");
    expect({ expression: schedule.inputs.scheduleExpression, state: schedule.inputs.state }).toEqual({ expression: "rate(1 day)", state: "ENABLED" });
    expect(JSON.parse(schedule.inputs.target.input)).toMatchObject({ source: "aws.events" });
  });
});

describe("media processing", () => {
  const queue = () => theOne(app, TYPES.sqsQueue, (q) => q.name === "MediaJobsQueue");

  it("process-media is the media queue's subscriber, one job per invocation, reporting failures per message", () => {
    const mapping = theOne(app, TYPES.eventSourceMapping);
    expect({
      source: mapping.inputs.eventSourceArn,
      target: mapping.inputs.functionName,
      batchSize: mapping.inputs.batchSize,
      responseTypes: mapping.inputs.functionResponseTypes,
    }).toEqual({
      source: queue().state.arn,
      target: processMedia().state.arn,
      batchSize: 1,
      responseTypes: ["ReportBatchItemFailures"],
    });
  });

  it("a job failing 5 deliveries moves to the dead-letter queue, kept there 14 days; visibility is 6× process-media's timeout", () => {
    // AWS, Lambda developer guide "Using Lambda with Amazon SQS": visibility timeout at least six
    // times the function's timeout, and maxReceiveCount at least 5, so throttled retries do not
    // dead-letter a job that never ran. 1209600 s is SQS's longest retention.
    const deadLetter = theOne(app, TYPES.sqsQueue, (q) => q.name === "MediaJobsDeadLetterQueue");
    expect(JSON.parse(queue().inputs.redrivePolicy)).toEqual({ deadLetterTargetArn: deadLetter.state.arn, maxReceiveCount: 5 });
    expect(queue().inputs.visibilityTimeoutSeconds).toBeGreaterThanOrEqual(6 * processMedia().inputs.timeout);
    expect(deadLetter.inputs.messageRetentionSeconds).toBe(14 * 86_400);
  });

  it("the event source runs process-media at most at its reserved concurrency (SQS accepts 2–1000)", () => {
    // AWS: an SQS event source mapping's scalingConfig.maximumConcurrency (2..1000) is what stops the
    // poller; the function's reserved concurrency alone lets throttled deliveries burn receives.
    const reserved = processMedia().inputs.reservedConcurrentExecutions;
    const maximumConcurrency = theOne(app, TYPES.eventSourceMapping).inputs.scalingConfig?.maximumConcurrency;
    expect({ maximumConcurrency, inRange: maximumConcurrency >= 2 && maximumConcurrency <= 1000 }).toEqual({ maximumConcurrency: reserved, inRange: true });
  });

  it("process-media is a container-image Lambda built from media-worker/Dockerfile (Debian's ffmpeg and libheif) for arm64, pushed by digest", () => {
    const image = theOne(app, TYPES.image, (i) => i.name === "MediaWorkerImage");
    const repository = theOne(app, TYPES.ecrRepository, (r) => r.name === "MediaWorkerRepository");
    expect({
      dockerfile: image.inputs.dockerfile.location,
      context: path.resolve(image.inputs.context.location),
      platforms: image.inputs.platforms,
      push: image.inputs.push,
      repository: repository.inputs.name,
    }).toEqual({
      dockerfile: `${REPO_ROOT}media-worker/Dockerfile`,
      context: path.resolve(REPO_ROOT),
      platforms: ["linux/arm64"],
      push: true,
      repository: "fitkit-uploads-wiring-process-media",
    });
    expect({
      packageType: processMedia().inputs.packageType,
      imageUri: processMedia().inputs.imageUri,
      architectures: processMedia().inputs.architectures,
    }).toEqual({
      packageType: "Image",
      // Lambda takes `repository@digest` (Image.ref's `repo:tag@sha256:…` is refused).
      imageUri: `${repository.state.repositoryUrl}@${image.state.digest}`,
      architectures: ["arm64"],
    });
  });

  it("the image installs Debian's ffmpeg, libheif tools and prlimit, and exactly the row's `install` packages beside an esbuild bundle that leaves them external", async () => {
    const { readFile } = await import("node:fs/promises");
    const { FUNCTIONS } = await import("../functions.js");
    const dockerfile = await readFile(path.join(REPO_ROOT, "media-worker/Dockerfile"), "utf8");
    const runtimePackages = /FROM \$\{BASE_IMAGE\}\nRUN apt-get update \\\n && apt-get install -y --no-install-recommends ([^\\\n]+)/
      .exec(dockerfile)?.[1]
      ?.trim()
      .split(/\s+/);
    expect(runtimePackages).toEqual(["nodejs", "ffmpeg", "libheif-examples", "util-linux", "ca-certificates"]);
    const installed = FUNCTIONS["process-media"].install;
    expect([...dockerfile.matchAll(/--external:(\S+)/g)].map((m) => m[1])).toEqual([...installed]);
    expect([...dockerfile.matchAll(/"(\S+)@\$\(node -p/g)].map((m) => m[1])).toEqual([...installed]);
  });

  it("the media worker's image builds both stages on the scanner's Debian base, pinned by the same digest", async () => {
    const { readFile } = await import("node:fs/promises");
    const baseOf = async (file: string) => /^ARG BASE_IMAGE=(\S+)$/m.exec(await readFile(path.join(REPO_ROOT, file), "utf8"))?.[1];
    const base = await baseOf("media-worker/Dockerfile");
    expect(base).toMatch(/^debian:trixie-slim@sha256:[0-9a-f]{64}$/);
    expect(base).toBe(await baseOf("scanner/Dockerfile"));
    const dockerfile = await readFile(path.join(REPO_ROOT, "media-worker/Dockerfile"), "utf8");
    const baseImage = ["$", "{BASE_IMAGE}"].join(""); // a Dockerfile variable, as the file spells it
    expect([...dockerfile.matchAll(/^FROM (.+)$/gm)].map((m) => m[1])).toEqual([`--platform=$BUILDPLATFORM ${baseImage} AS build`, baseImage]);
  });

  it("process-media has the memory for a 48-megapixel photo, /tmp and time for a 500 MiB video, and bounded concurrency", () => {
    expect({
      memory: processMedia().inputs.memorySize,
      disk: processMedia().inputs.ephemeralStorage,
      timeout: processMedia().inputs.timeout,
      reserved: processMedia().inputs.reservedConcurrentExecutions,
    }).toEqual({ memory: 3008, disk: { size: 2048 }, timeout: 900, reserved: 10 });
  });

  it("process-media's role may only consume the media queue (and write its logs)", () => {
    const role = theOne(app, TYPES.role, (r) => r.name === "ProcessMediaRole");
    expect(processMedia().inputs.role).toBe(role.state.arn);
    expect(roleStatements(role)).toEqual([{ Effect: "Allow", Action: CONSUME_MEDIA_QUEUE, Resource: [queue().state.arn] }]);
    expect(role.inputs.managedPolicyArns).toEqual(["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]);
  });

  it("only the media encoders install native packages: sharp (publish's package; process-media's image)", () => {
    const installing = [...functions.values()].filter((d) => d.build.properties.install).map((d) => [d.handler, d.build.properties.install]);
    expect(installing.sort()).toEqual([["functions/publish.handler", { sharp: "*" }]]);
  });

  it("only presign is built with code splitting, so its S3 client loads on the first multipart request, not at its cold start", () => {
    const splitting = [...functions.values()].filter((d) => d.build.properties.splitting).map((d) => d.handler);
    expect(splitting).toEqual(["functions/presign.handler"]);
  });
});

describe("links", () => {
  it("each function is linked to exactly what it uses, with the configured values", () => {
    const values: Record<string, Record<string, unknown>> = {
      MediaBucket: { name: mediaBucketName },
      ComplianceBucket: { name: complianceBucketName },
      RecordsBucket: { name: recordsBucketName },
      R2MediaWriter: tokenCredentials("R2MediaWriterToken"),
      R2ComplianceWriter: tokenCredentials("R2ComplianceWriterToken"),
      R2RecordsWriter: tokenCredentials("R2RecordsWriterToken"),
      R2Reader: tokenCredentials("R2ReaderToken"),
      R2MediaReader: tokenCredentials("R2MediaReaderToken"),
      Redis: { restUrl: SECRETS.UpstashRedisRestUrl, restToken: SECRETS.UpstashRedisRestToken },
      Clerk: { jwtKey: SECRETS.ClerkJwtKey, authorizedParties: SECRETS.ClerkAuthorizedParties },
      ScannerFunction: { name: "fitkit-uploads-wiring-scanner" },
      UploadSettings: UPLOAD_SETTINGS,
      MediaQueue: { url: theOne(app, TYPES.sqsQueue, (q) => q.name === "MediaJobsQueue").state.url },
      PublicMedia: {
        name: publicBucketName,
        baseUrl: `https://${PUBLIC_MEDIA_DOMAIN.domain}/`,
        ...tokenCredentials("PublicMediaToken"),
        // The custom domain's zone, whose cache unpublish and release purge.
        cachePurge: { zoneId: PUBLIC_MEDIA_DOMAIN.zoneId, apiToken: SECRETS.CloudflareCachePurgeToken },
      },
    };
    for (const [handler, names] of Object.entries(EXPECTED_LINKS)) {
      const links = IMAGE_HANDLERS[handler] ? imageLinkValues(processMedia()) : linkValues(fn(handler).build);
      expect({ handler, links }).toEqual({
        handler,
        links: Object.fromEntries(names.map((name) => [name, values[name]])),
      });
    }
  });

  it("the public signature functions cannot reach the Clerk secret", () => {
    for (const handler of [
      "functions/public-signature-put.handler",
      "functions/public-signature-upload-request.handler",
      "functions/public-signature-complete.handler",
    ]) {
      const delivered = everythingDeliveredTo(fn(handler));
      expect(delivered).not.toContain(SECRETS.ClerkJwtKey);
      expect(delivered).not.toContain(SECRETS.ClerkAuthorizedParties);
    }
  });

  it("the GET-signing function holds the read-only R2 token and no writer's", () => {
    const signedUrls = fn("functions/signed-urls.handler");
    const delivered = everythingDeliveredTo(signedUrls);
    for (const writer of ["R2MediaWriterToken", "R2ComplianceWriterToken", "R2RecordsWriterToken", "PublicMediaToken"]) {
      expect(delivered).not.toContain(tokenCredentials(writer).secretAccessKey);
    }
    expect(linkValues(signedUrls.build).R2Reader).toEqual(tokenCredentials("R2ReaderToken"));
  });

  it("a function holds the write token of a bucket only if it is linked to that bucket, and each token only its bucket's secret", () => {
    const writers = { R2MediaWriter: "MediaBucket", R2ComplianceWriter: "ComplianceBucket", R2RecordsWriter: "RecordsBucket" } as const;
    for (const deployed of functions.values()) {
      const linked = Object.keys(deployed.build.links);
      const stray = Object.entries(writers).filter(([writer, bucket]) => linked.includes(writer) && !linked.includes(bucket));
      expect({ handler: deployed.handler, writersWithoutTheirBucket: stray }).toEqual({ handler: deployed.handler, writersWithoutTheirBucket: [] });
    }
    const secretOf = (token: string) => tokenCredentials(token).secretAccessKey;
    const presign = everythingDeliveredTo(fn("functions/presign.handler"));
    expect(presign).toContain(secretOf("R2MediaWriterToken"));
    expect(presign).not.toContain(secretOf("R2ComplianceWriterToken"));
    const publicPut = everythingDeliveredTo(fn("functions/public-signature-put.handler"));
    expect(publicPut).toContain(secretOf("R2ComplianceWriterToken"));
    expect(publicPut).not.toContain(secretOf("R2MediaWriterToken"));
  });

  it("only publish, unpublish, release and the erasures hold the public bucket's writer token; publish reads uploads with a reader of the media bucket only", () => {
    const publicSecret = tokenCredentials("PublicMediaToken").secretAccessKey;
    const holders = [...functions.values()].filter((d) => everythingDeliveredTo(d).includes(publicSecret)).map((d) => d.handler);
    expect(holders.sort()).toEqual([
      "functions/erase-org.handler",
      "functions/erase-user.handler",
      "functions/publish.handler",
      "functions/release.handler",
      "functions/unpublish.handler",
    ]);
    const delivered = everythingDeliveredTo(fn("functions/publish.handler"));
    for (const other of ["R2MediaWriterToken", "R2ComplianceWriterToken", "R2RecordsWriterToken", "R2ReaderToken"]) {
      expect(delivered).not.toContain(tokenCredentials(other).secretAccessKey);
    }
    expect(linkValues(fn("functions/publish.handler").build).R2MediaReader).toEqual(tokenCredentials("R2MediaReaderToken"));
  });

  it("no secret is put in a Lambda's environment (linked values travel encrypted in the package)", () => {
    for (const deployed of functions.values()) {
      const environment = JSON.stringify(deployed.lambda.inputs.environment);
      for (const value of Object.values(SECRETS)) expect(environment).not.toContain(value);
    }
  });
});

describe("buckets", () => {
  it("every R2 resource is in the account of the R2AccountId secret", () => {
    const r2 = [TYPES.r2Bucket, TYPES.r2Cors, TYPES.r2Lifecycle, TYPES.r2Lock, TYPES.r2CustomDomain, TYPES.accountToken].flatMap((type) => ofType(app, type));
    expect(new Set(r2.map((resource) => resource.inputs.accountId))).toEqual(new Set([SECRETS.R2AccountId]));
  });

  it("both buckets allow presigned PUT/GET/HEAD from the app origins with the signed headers, exposing ETag", () => {
    for (const bucketName of [mediaBucketName, complianceBucketName]) {
      const cors = theOne(app, TYPES.r2Cors, (c) => c.inputs.bucketName === bucketName);
      expect(cors.inputs.rules).toEqual([
        {
          id: "presigned-browser-access",
          allowed: {
            origins: APP_ORIGINS,
            methods: ["PUT", "GET", "HEAD"],
            headers: ["content-type", "content-length", "if-none-match", "x-amz-checksum-sha256"],
          },
          exposeHeaders: ["ETag"],
          maxAgeSeconds: 3600,
        },
      ]);
    }
  });

  it("both buckets abort incomplete multipart uploads after 7 days; leftover staging/ media and incoming/ copies expire after 7 days", () => {
    const abort = {
      id: "abort-incomplete-multipart-uploads",
      enabled: true,
      conditions: { prefix: "" },
      abortMultipartUploadsTransition: { condition: { type: "Age", maxAge: 7 * 86_400 } },
    };
    expect(theOne(app, TYPES.r2Lifecycle, (l) => l.inputs.bucketName === mediaBucketName).inputs.rules).toEqual([
      abort,
      {
        id: "expire-staged-media",
        enabled: true,
        conditions: { prefix: "staging/" },
        deleteObjectsTransition: { condition: { type: "Age", maxAge: 7 * 86_400 } },
      },
    ]);
    expect(theOne(app, TYPES.r2Lifecycle, (l) => l.inputs.bucketName === complianceBucketName).inputs.rules).toEqual([
      abort,
      {
        id: "expire-incoming-signatures",
        enabled: true,
        conditions: { prefix: "incoming/" },
        deleteObjectsTransition: { condition: { type: "Age", maxAge: 7 * 86_400 } },
      },
    ]);
  });

  it("only the public bucket is served without a signature: on the stage's custom domain, TLS 1.2+, and no r2.dev domain", () => {
    const domain = theOne(app, TYPES.r2CustomDomain);
    expect(domain.inputs).toEqual({
      accountId: SECRETS.R2AccountId,
      jurisdiction: "default",
      bucketName: publicBucketName,
      domain: PUBLIC_MEDIA_DOMAIN.domain,
      zoneId: PUBLIC_MEDIA_DOMAIN.zoneId,
      enabled: true,
      minTls: "1.2",
    });
    expect(ofType(app, TYPES.r2ManagedDomain)).toEqual([]);
  });

  it("the public bucket's CORS lets any origin GET and HEAD, and nothing else", () => {
    expect(theOne(app, TYPES.r2Cors, (c) => c.inputs.bucketName === publicBucketName).inputs.rules).toEqual([
      { id: "public-read", allowed: { origins: ["*"], methods: ["GET", "HEAD"] }, maxAgeSeconds: 86_400 },
    ]);
  });

  it("outside production the records bucket is locked whole for 1 day only, so the stage can be emptied and removed", () => {
    const lock = theOne(app, TYPES.r2Lock);
    expect(lock.inputs.bucketName).toBe(recordsBucketName);
    expect(lock.inputs.rules).toEqual([{ id: "records-retention-1-day", enabled: true, prefix: "", condition: { type: "Age", maxAgeSeconds: 86_400 } }]);
  });

  it("the records bucket is only read, by signed GET URLs from the app origins: no upload CORS, no lifecycle", () => {
    expect(theOne(app, TYPES.r2Cors, (c) => c.inputs.bucketName === recordsBucketName).inputs.rules).toEqual([
      { id: "signed-read", allowed: { origins: APP_ORIGINS, methods: ["GET", "HEAD"] }, maxAgeSeconds: 3600 },
    ]);
    expect(ofType(app, TYPES.r2Lifecycle).filter((l) => l.inputs.bucketName === recordsBucketName)).toEqual([]);
  });

  it("outside production nothing is protected from removal", () => {
    expect(app.resources.filter((resource) => resource.options.protect).map((resource) => resource.name)).toEqual([]);
  });
});

/**
 * An ECR image URI as Lambda's CreateFunction takes it: the repository with either a tag or a digest,
 * never both (AWS Lambda API reference, `Code.ImageUri`; the "Source image … is not valid" refusal of
 * `repo:tag@sha256:…` is pulumi-docker-build issue 571 and serverless issue 8636).
 */
function lambdaAcceptsImageUri(uri: string): boolean {
  return /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com\/[a-z0-9]+(?:[._/-][a-z0-9]+)*(?::[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})$/.test(uri);
}

/** Cloudflare's permission group ids (developers.cloudflare.com/r2/api/tokens/, "Permission groups"). */
const ITEM_READ = "6a018a9f2fc74eb6b293b0c548f38b39";
const ITEM_WRITE = "2efd5506f9c8494dacb1fa10a3e7d5b6";

/** What a recorded AccountToken may do, read from its policies as Cloudflare reads them. */
function tokenScope(token: RecordedResource): { write: string[]; read: string[] } {
  const scope = { write: [] as string[], read: [] as string[] };
  for (const policy of token.inputs.policies) {
    // @pulumi/cloudflare 6.15.0 types/input.d.ts AccountTokenPolicy: `resources` is a JSON string.
    expect(typeof policy.resources).toBe("string");
    const buckets = Object.entries(JSON.parse(policy.resources) as Record<string, string>).map(([resource, level]) => {
      expect(level).toBe("*");
      const match = /^com\.cloudflare\.edge\.r2\.bucket\.([0-9a-f]{32})_(default|eu)_([a-z0-9-]+)$/.exec(resource);
      if (!match) throw new Error(`${token.name}: ${resource} is not an R2 bucket resource`);
      expect(match[1]).toBe(SECRETS.R2AccountId);
      return match[3]!;
    });
    const groups = policy.permissionGroups.map((group: { id: string }) => group.id).sort();
    expect(policy.effect).toBe("allow");
    if (groups.includes(ITEM_WRITE)) {
      expect(groups).toEqual([ITEM_WRITE, ITEM_READ].sort());
      scope.write.push(...buckets);
    } else {
      expect(groups).toEqual([ITEM_READ]);
      scope.read.push(...buckets);
    }
  }
  return scope;
}

describe("R2 tokens, created in the stack", () => {
  const bucketNames = () => ({ media: mediaBucketName, compliance: complianceBucketName, records: recordsBucketName, public: publicBucketName });
  const named = (names: string[]) => names.map((name) => Object.entries(bucketNames()).find(([, bucket]) => bucket === name)?.[0] ?? name);

  it("one account token per role, each scoped to its buckets by permission-group id and a JSON resources string", () => {
    const scopes = Object.fromEntries(ofType(app, TYPES.accountToken).map((token) => [token.name, tokenScope(token)]));
    expect(Object.fromEntries(Object.entries(scopes).map(([name, scope]) => [name, { write: named(scope.write), read: named(scope.read) }]))).toEqual({
      R2MediaWriterToken: { write: ["media"], read: [] },
      R2ComplianceWriterToken: { write: ["compliance"], read: [] },
      R2RecordsWriterToken: { write: ["records"], read: ["compliance"] },
      R2ReaderToken: { write: [], read: ["media", "records"] },
      R2MediaReaderToken: { write: [], read: ["media"] },
      PublicMediaToken: { write: ["public"], read: [] },
    });
    for (const token of ofType(app, TYPES.accountToken)) expect(token.inputs.accountId).toBe(SECRETS.R2AccountId);
  });

  it("a function's S3 secret is the SHA-256 (hex) of the token value, never the value itself; its key id is the token id", () => {
    const token = theOne(app, TYPES.accountToken, (t) => t.name === "R2MediaWriterToken");
    const linked = linkValues(fn("functions/presign.handler").build).R2MediaWriter as { accessKeyId: string; secretAccessKey: string };
    expect(linked.accessKeyId).toBe(token.id);
    expect(linked.secretAccessKey).toMatch(/^[0-9a-f]{64}$/);
    expect(linked.secretAccessKey).toBe(createHash("sha256").update(token.state.value).digest("hex"));
    for (const deployed of functions.values()) {
      for (const t of ofType(app, TYPES.accountToken)) expect(everythingDeliveredTo(deployed)).not.toContain(t.state.value);
    }
  });
});

describe("retained records (least privilege)", () => {
  /** The buckets each function's R2 tokens may read and write. */
  function reach(handler: string): { read: Set<string>; write: Set<string> } {
    const links = linkValues(fn(handler).build) as Record<string, { accessKeyId?: string }>;
    const result = { read: new Set<string>(), write: new Set<string>() };
    for (const token of ofType(app, TYPES.accountToken)) {
      if (!Object.values(links).some((link) => link.accessKeyId === token.id)) continue;
      const scope = tokenScope(token);
      for (const bucket of scope.write) {
        result.write.add(bucket);
        result.read.add(bucket);
      }
      for (const bucket of scope.read) result.read.add(bucket);
    }
    return result;
  }

  it("only consume (its promotion) can write the records bucket", () => {
    const writers = [...functions.keys()].filter((handler) => reach(handler).write.has(recordsBucketName));
    expect(writers).toEqual(["functions/consume.handler"]);
  });

  it("only signed-urls, consume's promotion and erase-org (listing what the lock keeps) can read the records bucket; the unauthenticated signature functions cannot", () => {
    const readers = [...functions.keys()].filter((handler) => reach(handler).read.has(recordsBucketName)).sort();
    expect(readers).toEqual(["functions/consume.handler", "functions/erase-org.handler", "functions/signed-urls.handler"]);
    for (const handler of [
      "functions/public-signature-put.handler",
      "functions/public-signature-upload-request.handler",
      "functions/public-signature-complete.handler",
    ]) {
      expect({ handler, reach: [...reach(handler).read].map((b) => b === complianceBucketName) }).toEqual({ handler, reach: [true] });
    }
  });

  it("publish reads the media bucket only", () => {
    expect(reach("functions/publish.handler")).toEqual({ read: new Set([mediaBucketName, publicBucketName]), write: new Set([publicBucketName]) });
  });
});

describe("the virus scanner", () => {
  it("is a container-image Lambda built from scanner/Dockerfile for arm64 and pushed to its own repository", () => {
    const image = theOne(app, TYPES.image, (i) => i.name === "ScannerImage");
    const repository = theOne(app, TYPES.ecrRepository, (r) => r.name === "ScannerRepository");
    expect({
      dockerfile: image.inputs.dockerfile.location,
      context: path.resolve(image.inputs.context.location),
      platforms: image.inputs.platforms,
      push: image.inputs.push,
      tags: image.inputs.tags,
    }).toEqual({
      dockerfile: `${REPO_ROOT}scanner/Dockerfile`,
      context: path.resolve(REPO_ROOT),
      platforms: ["linux/arm64"],
      push: true,
      tags: [`${repository.state.repositoryUrl}:latest`],
    });
    expect({
      packageType: scanner().inputs.packageType,
      imageUri: scanner().inputs.imageUri,
      command: scanner().inputs.imageConfig.commands,
      architectures: scanner().inputs.architectures,
    }).toEqual({ packageType: "Image", imageUri: `${repository.state.repositoryUrl}@${image.state.digest}`, command: ["scan"], architectures: ["arm64"] });
  });

  it("names its image by repository and digest, a URI Lambda accepts — not the provider's ref, which carries tag and digest", () => {
    const image = theOne(app, TYPES.image, (i) => i.name === "ScannerImage");
    // The harness gives `ref` the provider's real shape (harness/synthesize.ts, from
    // pulumi-docker-build's image.go): `<repo>:latest@sha256:…`, which Lambda refuses ("Source image
    // … is not valid", pulumi-docker-build issue 571; SST's own function.ts strips ":latest").
    expect(image.state.ref).toMatch(/:latest@sha256:[0-9a-f]{64}$/);
    expect(lambdaAcceptsImageUri(image.state.ref)).toBe(false);
    for (const fn of imageFunctions(app).values()) {
      expect({ function: fn.inputs.name, accepted: lambdaAcceptsImageUri(fn.inputs.imageUri) }).toEqual({ function: fn.inputs.name, accepted: true });
    }
  });

  it("has the memory, disk and time to load the definitions, a concurrency cap, and clamd's stream limit set to the stage's scanMaxBytes", () => {
    expect({
      memory: scanner().inputs.memorySize,
      disk: scanner().inputs.ephemeralStorage.size,
      timeout: scanner().inputs.timeout,
      reserved: scanner().inputs.reservedConcurrentExecutions,
      streamMax: scanner().inputs.environment.variables.SCAN_STREAM_MAX_BYTES,
    }).toEqual({ memory: 4096, disk: 2048, timeout: 90, reserved: 40, streamMax: String(UPLOAD_SETTINGS.scanMaxBytes) });
    // consume waits for a cold scanner: its own timeout must be longer.
    expect(fn("functions/consume.handler").lambda.inputs.timeout).toBeGreaterThan(scanner().inputs.timeout);
  });

  it("may be invoked by consume and the public signature uploads exactly — no other role, no resource policy", () => {
    const scannerArn = scanner().state.arn;
    const grantees = ofType(app, TYPES.role)
      .filter((role) =>
        roleStatements(role).some((statement) =>
          [statement.resources, statement.Resource]
            .flat()
            .some((resource) => String(resource).startsWith(scannerArn) && !String(resource).startsWith(`${scannerArn}-`)),
        ),
      )
      .map((role) => role.name)
      .sort();
    expect(grantees).toEqual(["ConsumeRole", "PublicSignatureCompleteRole", "PublicSignaturePutRole"]);
    expect(ofType(app, TYPES.permission).filter((permission) => [scannerArn, scanner().inputs.name].includes(permission.inputs.function))).toEqual([]);
  });

  it("holds no storage token and no secret (callers send presigned URLs)", () => {
    const delivered = JSON.stringify(scanner().inputs);
    for (const value of Object.values(SECRETS)) expect(delivered).not.toContain(value);
  });

  it("may only read the definitions bucket; the definitions update may also write it", () => {
    const bucketArn = theOne(app, TYPES.s3Bucket, (b) => b.name === "ScannerDefinitionsBucket").state.arn;
    const statementsOf = (name: string) => roleStatements(theOne(app, TYPES.role, (r) => r.name === name));
    expect(statementsOf("ScannerRole")).toEqual([{ Effect: "Allow", Action: ["s3:GetObject", "s3:ListBucket"], Resource: [bucketArn, `${bucketArn}/*`] }]);
    expect(statementsOf("ScannerDefinitionsRole")).toEqual([
      { Effect: "Allow", Action: ["s3:GetObject", "s3:ListBucket", "s3:PutObject", "s3:DeleteObject"], Resource: [bucketArn, `${bucketArn}/*`] },
    ]);
    expect(scanner().inputs.environment.variables.DEFINITIONS_BUCKET).toBe(
      theOne(app, TYPES.s3Bucket, (b) => b.name === "ScannerDefinitionsBucket").inputs.bucket,
    );
  });

  it("gets its definitions from the same image run as freshclam every 3 hours, not retried on failure", () => {
    const updater = imageFunctions(app).get("fitkit-uploads-wiring-scanner-definitions");
    expect(updater?.inputs.imageConfig.commands).toEqual(["update-definitions"]);
    expect(updater?.inputs.imageUri).toBe(scanner().inputs.imageUri);
    const schedule = theOne(app, TYPES.schedule, (s) => s.inputs.target.arn === updater?.state.arn);
    expect({ expression: schedule.inputs.scheduleExpression, state: schedule.inputs.state }).toEqual({ expression: "rate(3 hours)", state: "ENABLED" });
    expect(theOne(app, TYPES.invokeConfig, (c) => c.inputs.functionName === updater?.inputs.name).inputs.maximumRetryAttempts).toBe(0);
  });
});

describe("alarms", () => {
  const alarmOn = (metricName: string, dimension: Record<string, string>) =>
    ofType(app, TYPES.alarm).filter((alarm) => alarm.inputs.metricName === metricName && JSON.stringify(alarm.inputs.dimensions) === JSON.stringify(dimension));

  it("every alarm notifies the alarms topic, to which the stage's addresses are subscribed", () => {
    const topic = theOne(app, TYPES.snsTopic);
    for (const alarm of ofType(app, TYPES.alarm)) {
      expect({ alarm: alarm.inputs.name, actions: alarm.inputs.alarmActions, ok: alarm.inputs.okActions }).toEqual({
        alarm: alarm.inputs.name,
        actions: [topic.state.arn],
        ok: [topic.state.arn],
      });
    }
    const subscriptions = ofType(app, TYPES.snsSubscription).map((s) => ({ topic: s.inputs.topic, protocol: s.inputs.protocol, endpoint: s.inputs.endpoint }));
    expect(subscriptions).toEqual([{ topic: topic.state.arn, protocol: "email", endpoint: "oncall@fitkit.test" }]);
  });

  it("watch consume's errors and throttles, the sweeper's errors, and the scanner's errors, throttles and definitions updates", () => {
    const expected = [
      ["Errors", fn("functions/consume.handler").name],
      ["Throttles", fn("functions/consume.handler").name],
      ["Errors", fn("functions/sweeper.handler").name],
      ["Errors", "fitkit-uploads-wiring-scanner"],
      ["Throttles", "fitkit-uploads-wiring-scanner"],
      ["Errors", "fitkit-uploads-wiring-scanner-definitions"],
    ] as const;
    for (const [metric, functionName] of expected) {
      const [alarm, ...others] = alarmOn(metric, { FunctionName: functionName });
      expect({ metric, functionName, alarms: others.length + (alarm ? 1 : 0) }).toEqual({ metric, functionName, alarms: 1 });
      expect({ namespace: alarm?.inputs.namespace, statistic: alarm?.inputs.statistic, threshold: alarm?.inputs.threshold }).toEqual({
        namespace: "AWS/Lambda",
        statistic: "Sum",
        threshold: 1,
      });
    }
  });

  it("watch the sweeper's backlog through the metrics it emits (lib/sweeper-metrics.ts), for this stage", () => {
    const dimensions = { service: "sweeper", stage: "wiring" };
    const [growing] = alarmOn("SweeperRemaining", dimensions);
    expect({
      namespace: growing?.inputs.namespace,
      statistic: growing?.inputs.statistic,
      periods: growing?.inputs.evaluationPeriods,
      comparison: growing?.inputs.comparisonOperator,
      threshold: growing?.inputs.threshold,
    }).toEqual({ namespace: "FitKitUploads", statistic: "Minimum", periods: 3, comparison: "GreaterThanThreshold", threshold: 0 });
    expect(alarmOn("SweeperOldestOverdueSeconds", dimensions)).toHaveLength(1);
  });

  it("watch the scanner's own metrics: error verdicts and stale definitions per scan, and an updater that stopped (no data is breaching)", () => {
    // What the scanner image emits (scanner/test/definitions-age.test.ts checks the EMF it writes).
    const dimensions = { service: "scanner", stage: "wiring" };
    const shape = (metricName: string) => {
      const [alarm, ...others] = alarmOn(metricName, dimensions);
      return {
        alarms: others.length + (alarm ? 1 : 0),
        namespace: alarm?.inputs.namespace,
        statistic: alarm?.inputs.statistic,
        period: alarm?.inputs.period,
        comparison: alarm?.inputs.comparisonOperator,
        threshold: alarm?.inputs.threshold,
        missing: alarm?.inputs.treatMissingData,
      };
    };
    const perScan = {
      alarms: 1,
      namespace: "FitKitUploads",
      statistic: "Sum",
      period: 300,
      comparison: "GreaterThanOrEqualToThreshold",
      threshold: 1,
      missing: "notBreaching",
    };
    expect(shape("ScanErrors")).toEqual(perScan);
    expect(shape("ScanStaleDefinitions")).toEqual(perScan);
    expect(shape("DefinitionsUpdated")).toEqual({
      alarms: 1,
      namespace: "FitKitUploads",
      statistic: "Sum",
      period: 6 * 3600,
      comparison: "LessThanThreshold",
      threshold: 1,
      missing: "breaching",
    });
    // The scanner image reads the stage for its metrics' dimension, and the age limit, from its environment.
    const scannerFunctions = [...imageFunctions(app).values()].filter((fn) => String(fn.inputs.name).includes("-scanner"));
    expect(scannerFunctions).toHaveLength(2);
    for (const fn of scannerFunctions) expect(fn.inputs.environment.variables.STAGE).toBe("wiring");
    expect(scanner().inputs.environment.variables.DEFINITIONS_MAX_AGE_HOURS).toBe("48");
  });

  it("watch process-media's errors and the age of the oldest media job", () => {
    expect(alarmOn("Errors", { FunctionName: IMAGE_HANDLERS["functions/process-media.handler"] })).toHaveLength(1);
    const queueName = theOne(app, TYPES.sqsQueue, (q) => q.name === "MediaJobsQueue").state.name;
    const [age, ...others] = alarmOn("ApproximateAgeOfOldestMessage", { QueueName: queueName });
    expect(others).toEqual([]);
    expect({ namespace: age?.inputs.namespace, statistic: age?.inputs.statistic, threshold: age?.inputs.threshold }).toEqual({
      namespace: "AWS/SQS",
      statistic: "Maximum",
      threshold: 3600,
    });
  });

  it("watch the API's 5xx rate: AWS/ApiGateway 5xx over Count of this API's $default stage, above 1 %", () => {
    const apiId = theOne(app, TYPES.api).id;
    const alarm = theOne(app, TYPES.alarm, (a) => a.inputs.name === "fitkit-uploads-wiring-ApiServerErrorRate");
    const metrics = alarm.inputs.metricQueries.filter((q: { metric?: unknown }) => q.metric).map((q: { metric: Record<string, unknown> }) => q.metric);
    // AWS: HTTP API metrics are published with the dimensions ApiId and Stage.
    expect(metrics.map((m: Record<string, unknown>) => [m.namespace, m.metricName, m.dimensions])).toEqual([
      ["AWS/ApiGateway", "Count", { ApiId: apiId, Stage: "$default" }],
      ["AWS/ApiGateway", "5xx", { ApiId: apiId, Stage: "$default" }],
    ]);
    expect(alarm.inputs.metricQueries.find((q: { returnData?: boolean }) => q.returnData)?.expression).toBe("IF(requests > 0, 100 * errors / requests, 0)");
    expect(alarm.inputs.threshold).toBe(1);
  });

  it("watch the API's 429 rate through a metric filter on its access log, comparing the status as the log line types it", () => {
    const stage = theOne(app, TYPES.stage);
    const accessLog = theOne(app, TYPES.logGroup, (g) => g.state.arn === stage.inputs.accessLogSettings.destinationArn);
    const filter = theOne(app, TYPES.metricFilter, (f) => f.inputs.metricTransformation.name === "ApiThrottled");
    expect(filter.inputs.logGroupName).toBe(accessLog.inputs.name ?? accessLog.state.name);
    // The access-log line API Gateway writes for a 429, from the format SST really configures
    // (apigatewayv2.ts JSON.stringify-s it, so `status` arrives quoted, as a string): the filter
    // must compare against exactly that JSON value, or it never matches.
    const line = String(stage.inputs.accessLogSettings.format)
      .replace(/\$context\.status/g, "429")
      .replace(/\$context\.[\w.]+/g, "0");
    const status = JSON.parse(line).status;
    expect(status).toBe("429");
    expect(filter.inputs.pattern).toBe(`{ $.status = ${JSON.stringify(status)} }`);
    const alarm = theOne(app, TYPES.alarm, (a) => a.inputs.name === "fitkit-uploads-wiring-ApiThrottledRate");
    expect(
      alarm.inputs.metricQueries.map((q: { metric?: { metricName: string; namespace: string } }) => q.metric && [q.metric.namespace, q.metric.metricName]),
    ).toEqual([["AWS/ApiGateway", "Count"], ["FitKitUploads/wiring", "ApiThrottled"], undefined]);
    expect(alarm.inputs.threshold).toBe(5);
  });

  it("watch the orphan audit's ERROR line (records lost) through a metric filter on its log group", () => {
    const audit = fn("functions/orphan-audit.handler");
    const filter = theOne(app, TYPES.metricFilter, (f) => f.inputs.metricTransformation.name === "OrphanAuditErrors");
    expect(filter.inputs.logGroupName).toBe(`/aws/lambda/${audit.name}`);
    expect(filter.inputs.pattern).toBe('{ $.level = "ERROR" && $.message = "orphan audit*" }');
    // The line the pattern must match, as the audit logs it (Powertools: JSON with level and message).
    const source = readFileSync(path.join(REPO_ROOT, "core/src/audit/orphan-audit.ts"), "utf8");
    expect(source).toMatch(/log\?\.error\("orphan audit[^"]*records were probably lost/);
    const alarm = theOne(app, TYPES.alarm, (a) => a.inputs.name === "fitkit-uploads-wiring-OrphanAuditRecordsLost");
    expect({ namespace: alarm.inputs.namespace, metric: alarm.inputs.metricName, threshold: alarm.inputs.threshold }).toEqual({
      namespace: "FitKitUploads/wiring",
      metric: "OrphanAuditErrors",
      threshold: 1,
    });
  });

  it("every dead-letter queue has an alarm on the jobs waiting in it", () => {
    const queues = ofType(app, TYPES.sqsQueue);
    const deadLetters = queues.filter((queue) => queues.some((other) => JSON.stringify(other.inputs.redrivePolicy ?? "").includes(queue.state.arn)));
    const unwatched = deadLetters.filter(
      (queue) => alarmOn("ApproximateNumberOfMessagesVisible", { QueueName: queue.inputs.name ?? queue.state.name }).length === 0,
    );
    expect(deadLetters.map((queue) => queue.name)).toEqual(["MediaJobsDeadLetterQueue"]);
    expect(unwatched.map((queue) => queue.name)).toEqual([]);
  });
});
