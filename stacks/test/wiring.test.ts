/**
 * The deployed wiring, checked offline against SST's real components (see harness/synthesize.ts).
 * The expectations below restate the deployment requirements; they are deliberately not derived
 * from stacks/functions.ts, so a mistake in that table fails here.
 */
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
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
  R2MediaWriterAccessKeyId: "media-writer-access-key-id",
  R2MediaWriterSecretAccessKey: "media-writer-secret-access-key",
  R2ComplianceWriterAccessKeyId: "compliance-writer-access-key-id",
  R2ComplianceWriterSecretAccessKey: "compliance-writer-secret-access-key",
  R2ReaderAccessKeyId: "reader-access-key-id",
  R2ReaderSecretAccessKey: "reader-secret-access-key",
  R2PublicWriterAccessKeyId: "public-bucket-access-key-id",
  R2PublicWriterSecretAccessKey: "public-bucket-secret-key",
  UpstashRedisRestUrl: "https://eu1-fitkit.upstash.io",
  UpstashRedisRestToken: "upstash-rest-token",
  ClerkJwtKey: "-----BEGIN PUBLIC KEY-----clerk-jwt-key-----END PUBLIC KEY-----",
  ClerkAuthorizedParties: "https://app.fitkit.test,https://admin.fitkit.test",
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
};

const EXPECTED_ROUTES = {
  "POST /uploads": "functions/presign.handler",
  "POST /uploads/signed-urls": "functions/signed-get.handler",
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
  "functions/issue-signature-token.handler": [RECORDS_API_ROLE, ADMIN_ROLE],
  "functions/usage.handler": [ADMIN_ROLE],
  "functions/set-quota.handler": [ADMIN_ROLE],
  "functions/sweeper.handler": [ADMIN_ROLE],
  "functions/orphan-audit.handler": [ADMIN_ROLE],
};

const EXPECTED_LINKS = {
  "functions/presign.handler": ["MediaBucket", "R2MediaWriter", "Redis", "Clerk", "UploadSettings"],
  "functions/signed-get.handler": ["MediaBucket", "ComplianceBucket", "R2Reader", "Clerk", "Redis", "UploadSettings"],
  "functions/public-signature-put.handler": ["ComplianceBucket", "R2ComplianceWriter", "Redis", "ScannerFunction", "UploadSettings"],
  "functions/public-signature-upload-request.handler": ["ComplianceBucket", "R2ComplianceWriter", "Redis", "UploadSettings"],
  "functions/public-signature-complete.handler": ["ComplianceBucket", "R2ComplianceWriter", "Redis", "ScannerFunction", "UploadSettings"],
  "functions/upload-policy.handler": ["Clerk"],
  "functions/consume.handler": [
    "MediaBucket",
    "ComplianceBucket",
    "R2MediaWriter",
    "R2ComplianceWriter",
    "Redis",
    "ScannerFunction",
    "UploadSettings",
    "MediaQueue",
  ],
  "functions/release.handler": ["MediaBucket", "ComplianceBucket", "R2MediaWriter", "R2ComplianceWriter", "Redis", "UploadSettings", "PublicMedia"],
  "functions/publish.handler": ["MediaBucket", "R2Reader", "Redis", "PublicMedia", "UploadSettings"],
  "functions/unpublish.handler": ["Redis", "PublicMedia", "UploadSettings"],
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

function scanner(): RecordedResource {
  const found = imageFunctions(app).get("fitkit-uploads-wiring-scanner");
  if (!found) throw new Error("No scanner Lambda");
  return found;
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
  expect(buckets).toHaveLength(3);
});

describe("functions", () => {
  it("every handler is its own Lambda, and there is no other", () => {
    expect([...functions.keys()].sort()).toEqual(Object.keys(EXPECTED_LINKS).sort());
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

  it("reserves concurrency for consume (50) and the sweeper (2), so a flood on the public routes cannot take theirs", () => {
    const reserved = Object.fromEntries([...functions.values()].map((deployed) => [deployed.handler, deployed.lambda.inputs.reservedConcurrentExecutions]));
    expect(reserved).toMatchObject({ "functions/consume.handler": 50, "functions/sweeper.handler": 2 });
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
      "issue-signature-token": "fitkit-uploads-wiring-issue-signature-token",
      usage: "fitkit-uploads-wiring-usage",
      "set-quota": "fitkit-uploads-wiring-set-quota",
      sweep: "fitkit-uploads-wiring-sweeper",
      "audit-orphans": "fitkit-uploads-wiring-orphan-audit",
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
      target: fn("functions/process-media.handler").arn,
      batchSize: 1,
      responseTypes: ["ReportBatchItemFailures"],
    });
  });

  it("a job failing 3 deliveries moves to the dead-letter queue; a running job is not redelivered before its timeout", () => {
    const deadLetter = theOne(app, TYPES.sqsQueue, (q) => q.name === "MediaJobsDeadLetterQueue");
    expect(JSON.parse(queue().inputs.redrivePolicy)).toEqual({ deadLetterTargetArn: deadLetter.state.arn, maxReceiveCount: 3 });
    expect(queue().inputs.visibilityTimeoutSeconds).toBeGreaterThanOrEqual(fn("functions/process-media.handler").lambda.inputs.timeout);
  });

  it("process-media has the memory for a 48-megapixel photo, /tmp for a 500 MiB video, and sharp and ffmpeg installed for Lambda's platform, not bundled", () => {
    const processMedia = fn("functions/process-media.handler");
    expect(processMedia.lambda.inputs.memorySize).toBe(3008);
    expect(processMedia.lambda.inputs.ephemeralStorage).toEqual({ size: 1024 });
    // "*": SST installs the version package.json pins; @ffmpeg-installer/ffmpeg pins its per-platform binaries.
    expect(processMedia.build.properties.install).toEqual({ sharp: "*", "@ffmpeg-installer/ffmpeg": "*" });
    expect(processMedia.build.properties.architecture).toBe(processMedia.lambda.inputs.architectures[0]);
  });

  it("only the media encoders install native packages: sharp (process-media, publish) and ffmpeg (process-media)", () => {
    const installing = [...functions.values()].filter((d) => d.build.properties.install).map((d) => [d.handler, d.build.properties.install]);
    expect(installing.sort()).toEqual([
      ["functions/process-media.handler", { sharp: "*", "@ffmpeg-installer/ffmpeg": "*" }],
      ["functions/publish.handler", { sharp: "*" }],
    ]);
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
      R2MediaWriter: {
        endpoint: `https://${SECRETS.R2AccountId}.r2.cloudflarestorage.com`,
        accessKeyId: SECRETS.R2MediaWriterAccessKeyId,
        secretAccessKey: SECRETS.R2MediaWriterSecretAccessKey,
      },
      R2ComplianceWriter: {
        endpoint: `https://${SECRETS.R2AccountId}.r2.cloudflarestorage.com`,
        accessKeyId: SECRETS.R2ComplianceWriterAccessKeyId,
        secretAccessKey: SECRETS.R2ComplianceWriterSecretAccessKey,
      },
      R2Reader: {
        endpoint: `https://${SECRETS.R2AccountId}.r2.cloudflarestorage.com`,
        accessKeyId: SECRETS.R2ReaderAccessKeyId,
        secretAccessKey: SECRETS.R2ReaderSecretAccessKey,
      },
      Redis: { restUrl: SECRETS.UpstashRedisRestUrl, restToken: SECRETS.UpstashRedisRestToken },
      Clerk: { jwtKey: SECRETS.ClerkJwtKey, authorizedParties: SECRETS.ClerkAuthorizedParties },
      ScannerFunction: { name: "fitkit-uploads-wiring-scanner" },
      UploadSettings: UPLOAD_SETTINGS,
      MediaQueue: { url: theOne(app, TYPES.sqsQueue, (q) => q.name === "MediaJobsQueue").state.url },
      PublicMedia: {
        name: publicBucketName,
        baseUrl: `https://${PUBLIC_MEDIA_DOMAIN.domain}/`,
        endpoint: `https://${SECRETS.R2AccountId}.r2.cloudflarestorage.com`,
        accessKeyId: SECRETS.R2PublicWriterAccessKeyId,
        secretAccessKey: SECRETS.R2PublicWriterSecretAccessKey,
      },
    };
    for (const [handler, names] of Object.entries(EXPECTED_LINKS)) {
      expect({ handler, links: linkValues(fn(handler).build) }).toEqual({
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
    const signedGet = fn("functions/signed-get.handler");
    const delivered = everythingDeliveredTo(signedGet);
    for (const secret of [
      SECRETS.R2MediaWriterAccessKeyId,
      SECRETS.R2MediaWriterSecretAccessKey,
      SECRETS.R2ComplianceWriterAccessKeyId,
      SECRETS.R2ComplianceWriterSecretAccessKey,
    ]) {
      expect(delivered).not.toContain(secret);
    }
    expect(linkValues(signedGet.build).R2Reader).toMatchObject({ accessKeyId: SECRETS.R2ReaderAccessKeyId });
  });

  it("a function holds the write token of a bucket only if it is linked to that bucket, and each token only its bucket's secret", () => {
    const writers = { R2MediaWriter: "MediaBucket", R2ComplianceWriter: "ComplianceBucket" } as const;
    for (const deployed of functions.values()) {
      const linked = Object.keys(deployed.build.links);
      const stray = Object.entries(writers).filter(([writer, bucket]) => linked.includes(writer) && !linked.includes(bucket));
      expect({ handler: deployed.handler, writersWithoutTheirBucket: stray }).toEqual({ handler: deployed.handler, writersWithoutTheirBucket: [] });
    }
    const presign = everythingDeliveredTo(fn("functions/presign.handler"));
    expect(presign).toContain(SECRETS.R2MediaWriterSecretAccessKey);
    expect(presign).not.toContain(SECRETS.R2ComplianceWriterSecretAccessKey);
    const publicPut = everythingDeliveredTo(fn("functions/public-signature-put.handler"));
    expect(publicPut).toContain(SECRETS.R2ComplianceWriterSecretAccessKey);
    expect(publicPut).not.toContain(SECRETS.R2MediaWriterSecretAccessKey);
  });

  it("only publish, unpublish and release hold the public bucket's writer token; publish reads uploads with the read-only token", () => {
    const holders = [...functions.values()].filter((d) => everythingDeliveredTo(d).includes(SECRETS.R2PublicWriterSecretAccessKey)).map((d) => d.handler);
    expect(holders.sort()).toEqual(["functions/publish.handler", "functions/release.handler", "functions/unpublish.handler"]);
    const delivered = everythingDeliveredTo(fn("functions/publish.handler"));
    expect(delivered).not.toContain(SECRETS.R2MediaWriterSecretAccessKey);
    expect(delivered).not.toContain(SECRETS.R2ComplianceWriterSecretAccessKey);
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
    const r2 = [TYPES.r2Bucket, TYPES.r2Cors, TYPES.r2Lifecycle, TYPES.r2Lock, TYPES.r2CustomDomain].flatMap((type) => ofType(app, type));
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

  it("both buckets abort incomplete multipart uploads after 1 day; the compliance bucket expires leftover incoming/ copies after 7 days", () => {
    const abort = {
      id: "abort-incomplete-multipart-uploads",
      enabled: true,
      conditions: { prefix: "" },
      abortMultipartUploadsTransition: { condition: { type: "Age", maxAge: 7 * 86_400 } },
    };
    expect(theOne(app, TYPES.r2Lifecycle, (l) => l.inputs.bucketName === mediaBucketName).inputs.rules).toEqual([abort]);
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

  it("outside production the compliance bucket locks records/ for 1 day only, so the stage can be emptied and removed", () => {
    const lock = theOne(app, TYPES.r2Lock);
    expect(lock.inputs.bucketName).toBe(complianceBucketName);
    expect(lock.inputs.rules).toEqual([
      { id: "records-retention-1-day", enabled: true, prefix: "records/", condition: { type: "Age", maxAgeSeconds: 86_400 } },
    ]);
  });

  it("outside production nothing is protected from removal", () => {
    expect(app.resources.filter((resource) => resource.options.protect).map((resource) => resource.name)).toEqual([]);
  });
});

describe("the virus scanner", () => {
  it("is a container-image Lambda built from scanner/Dockerfile for arm64 and pushed to its own repository", () => {
    const image = theOne(app, TYPES.image);
    const repository = theOne(app, TYPES.ecrRepository);
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
    }).toEqual({ packageType: "Image", imageUri: image.state.ref, command: ["scan"], architectures: ["arm64"] });
  });

  it("has the memory, disk and time to load the definitions, a concurrency cap, and clamd's stream limit set to the stage's scanMaxBytes", () => {
    expect({
      memory: scanner().inputs.memorySize,
      disk: scanner().inputs.ephemeralStorage.size,
      timeout: scanner().inputs.timeout,
      reserved: scanner().inputs.reservedConcurrentExecutions,
      streamMax: scanner().inputs.environment.variables.SCAN_STREAM_MAX_BYTES,
    }).toEqual({ memory: 4096, disk: 2048, timeout: 90, reserved: 20, streamMax: String(UPLOAD_SETTINGS.scanMaxBytes) });
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

  it("watch the sweeper's backlog through the metrics it emits (lib/sweep-metrics.ts), for this stage", () => {
    const dimensions = { service: "sweeper", stage: "wiring" };
    const [growing] = alarmOn("SweepRemaining", dimensions);
    expect({
      namespace: growing?.inputs.namespace,
      statistic: growing?.inputs.statistic,
      periods: growing?.inputs.evaluationPeriods,
      comparison: growing?.inputs.comparisonOperator,
      threshold: growing?.inputs.threshold,
    }).toEqual({ namespace: "FitKitUploads", statistic: "Minimum", periods: 3, comparison: "GreaterThanThreshold", threshold: 0 });
    expect(alarmOn("SweepOldestOverdueSeconds", dimensions)).toHaveLength(1);
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
