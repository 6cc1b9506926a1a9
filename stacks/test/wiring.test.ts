/**
 * The deployed wiring, checked offline against SST's real components (see harness/synthesize.ts).
 * The expectations below restate the deployment requirements; they are deliberately not derived
 * from stacks/functions.ts, so a mistake in that table fails here.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  type DeployedFunction,
  deployedFunctions,
  everythingDeliveredTo,
  invokePermissions,
  linkValues,
  ofType,
  routeTable,
  TYPES,
  theOne,
} from "./harness/queries.js";
import { type Synthesis, synthesize } from "./harness/synthesize.js";

const RECORDS_API_ROLE = "arn:aws:iam::111111111111:role/fitkit-records-api";
const ADMIN_ROLE = "arn:aws:iam::222222222222:role/service/fitkit-admin";
const APP_ORIGINS = ["https://app.fitkit.test", "http://localhost:5173"];

const SECRETS = {
  R2AccountId: "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
  R2WriterAccessKeyId: "writer-access-key-id",
  R2WriterSecretAccessKey: "writer-secret-access-key",
  R2ReaderAccessKeyId: "reader-access-key-id",
  R2ReaderSecretAccessKey: "reader-secret-access-key",
  UpstashRedisRestUrl: "https://eu1-fitkit.upstash.io",
  UpstashRedisRestToken: "upstash-rest-token",
  ClerkJwtKey: "-----BEGIN PUBLIC KEY-----clerk-jwt-key-----END PUBLIC KEY-----",
  ClerkAuthorizedParties: "https://app.fitkit.test,https://admin.fitkit.test",
  ClamdAddress: "clamd.fitkit.internal:3310",
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
  "functions/issue-signature-token.handler": [RECORDS_API_ROLE, ADMIN_ROLE],
  "functions/usage.handler": [ADMIN_ROLE],
  "functions/set-quota.handler": [ADMIN_ROLE],
  "functions/sweeper.handler": [ADMIN_ROLE],
};

const EXPECTED_LINKS = {
  "functions/presign.handler": ["MediaBucket", "R2Writer", "Redis", "Clerk", "UploadSettings"],
  "functions/signed-get.handler": ["MediaBucket", "ComplianceBucket", "R2Reader", "Clerk", "Redis"],
  "functions/public-signature-put.handler": ["ComplianceBucket", "R2Writer", "Redis", "Clamd", "UploadSettings"],
  "functions/public-signature-upload-request.handler": ["ComplianceBucket", "R2Writer", "Redis", "UploadSettings"],
  "functions/public-signature-complete.handler": ["ComplianceBucket", "R2Writer", "Redis", "Clamd", "UploadSettings"],
  "functions/upload-policy.handler": ["Clerk"],
  "functions/upload-parts.handler": ["R2Writer", "Redis", "Clerk", "UploadSettings"],
  "functions/list-upload-parts.handler": ["R2Writer", "Redis", "Clerk", "UploadSettings"],
  "functions/complete-upload.handler": ["R2Writer", "Redis", "Clerk", "UploadSettings"],
  "functions/cancel-upload.handler": ["R2Writer", "Redis", "Clerk", "UploadSettings"],
  "functions/consume.handler": ["MediaBucket", "ComplianceBucket", "R2Writer", "Redis", "Clamd", "UploadSettings", "MediaQueue"],
  "functions/release.handler": ["MediaBucket", "ComplianceBucket", "R2Writer", "Redis", "UploadSettings"],
  "functions/issue-signature-token.handler": ["Redis", "UploadSettings"],
  "functions/usage.handler": ["Redis", "UploadSettings"],
  "functions/set-quota.handler": ["Redis", "UploadSettings"],
  "functions/sweeper.handler": ["MediaBucket", "ComplianceBucket", "R2Writer", "Redis", "UploadSettings", "MediaQueue"],
  "functions/health.handler": [],
  "functions/process-media.handler": ["MediaBucket", "R2Writer", "Redis"],
};

/** The only IAM grants: sending to the media queue (consume's hand-off, the sweeper's re-drive) and consuming it. */
const SEND_TO_MEDIA_QUEUE = ["sqs:SendMessage"];
const CONSUME_MEDIA_QUEUE = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"];
const EXPECTED_QUEUE_ACTIONS: Record<string, string[]> = {
  "functions/consume.handler": SEND_TO_MEDIA_QUEUE,
  "functions/sweeper.handler": SEND_TO_MEDIA_QUEUE,
  "functions/process-media.handler": CONSUME_MEDIA_QUEUE,
};

const SEVEN_YEARS_SECONDS = (7 * 365 + 2) * 86_400;

let app: Synthesis;
let functions: Map<string, DeployedFunction>;
let mediaBucketName: string;
let complianceBucketName: string;

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
          internalCallers: [
            { roleArn: RECORDS_API_ROLE, functions: ["consume", "release", "issue-signature-token"] },
            { roleArn: ADMIN_ROLE, functions: "all" },
          ],
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
  expect(buckets).toHaveLength(2);
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

  it("no function has an IAM permission of its own but on the media queue (R2 and Redis are reached with linked credentials)", () => {
    const mediaQueueArn = theOne(app, TYPES.sqsQueue, (q) => q.name === "MediaJobsQueue").state.arn;
    for (const deployed of functions.values()) {
      const role = theOne(app, TYPES.role, (r) => r.name === deployed.lambda.name.replace(/Function$/, "Role"));
      const statements = role.inputs.inlinePolicies.flatMap((p: { policy: string }) => JSON.parse(p.policy).Statement);
      const actions = EXPECTED_QUEUE_ACTIONS[deployed.handler];
      expect({ handler: deployed.handler, statements }).toEqual({
        handler: deployed.handler,
        statements: actions ? [{ actions, effect: "Allow", resources: [mediaQueueArn] }] : [],
      });
    }
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
      "issue-signature-token": "fitkit-uploads-wiring-issue-signature-token",
      usage: "fitkit-uploads-wiring-usage",
      "set-quota": "fitkit-uploads-wiring-set-quota",
      sweep: "fitkit-uploads-wiring-sweeper",
    });
  });
});

describe("the sweeper", () => {
  it("runs every 5 minutes on a schedule that targets the sweeper function", () => {
    const schedule = theOne(app, TYPES.schedule);
    expect({
      expression: schedule.inputs.scheduleExpression,
      state: schedule.inputs.state,
      target: schedule.inputs.target.arn,
    }).toEqual({ expression: "rate(5 minutes)", state: "ENABLED", target: fn("functions/sweeper.handler").arn });
  });

  it("is invoked by the schedule with a payload the sweeper recognises as a scheduled run", () => {
    // functions/sweeper.ts fails a scheduled run loudly when `source` is "aws.events".
    expect(JSON.parse(theOne(app, TYPES.schedule).inputs.target.input)).toMatchObject({ source: "aws.events" });
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

  it("process-media has the memory for a 48-megapixel photo and sharp installed for Lambda's platform, not bundled", () => {
    const processMedia = fn("functions/process-media.handler");
    expect(processMedia.lambda.inputs.memorySize).toBe(3008);
    expect(processMedia.build.properties.install).toEqual({ sharp: "*" });
    expect(processMedia.build.properties.architecture).toBe(processMedia.lambda.inputs.architectures[0]);
  });

  it("only process-media installs native packages", () => {
    const installing = [...functions.values()].filter((d) => d.build.properties.install).map((d) => d.handler);
    expect(installing).toEqual(["functions/process-media.handler"]);
  });
});

describe("links", () => {
  it("each function is linked to exactly what it uses, with the configured values", () => {
    const values: Record<string, Record<string, unknown>> = {
      MediaBucket: { name: mediaBucketName },
      ComplianceBucket: { name: complianceBucketName },
      R2Writer: {
        endpoint: `https://${SECRETS.R2AccountId}.r2.cloudflarestorage.com`,
        accessKeyId: SECRETS.R2WriterAccessKeyId,
        secretAccessKey: SECRETS.R2WriterSecretAccessKey,
      },
      R2Reader: {
        endpoint: `https://${SECRETS.R2AccountId}.r2.cloudflarestorage.com`,
        accessKeyId: SECRETS.R2ReaderAccessKeyId,
        secretAccessKey: SECRETS.R2ReaderSecretAccessKey,
      },
      Redis: { restUrl: SECRETS.UpstashRedisRestUrl, restToken: SECRETS.UpstashRedisRestToken },
      Clerk: { jwtKey: SECRETS.ClerkJwtKey, authorizedParties: SECRETS.ClerkAuthorizedParties },
      Clamd: { host: "clamd.fitkit.internal", port: 3310 },
      UploadSettings: UPLOAD_SETTINGS,
      MediaQueue: { url: theOne(app, TYPES.sqsQueue, (q) => q.name === "MediaJobsQueue").state.url },
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

  it("the GET-signing function holds the read-only R2 token and not the writer's", () => {
    const signedGet = fn("functions/signed-get.handler");
    const delivered = everythingDeliveredTo(signedGet);
    expect(delivered).not.toContain(SECRETS.R2WriterAccessKeyId);
    expect(delivered).not.toContain(SECRETS.R2WriterSecretAccessKey);
    expect(linkValues(signedGet.build).R2Reader).toMatchObject({ accessKeyId: SECRETS.R2ReaderAccessKeyId });
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
    const r2 = [TYPES.r2Bucket, TYPES.r2Cors, TYPES.r2Lifecycle, TYPES.r2Lock].flatMap((type) => ofType(app, type));
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

  it("the compliance bucket locks records/ for 7 years, and nothing else is locked", () => {
    const lock = theOne(app, TYPES.r2Lock);
    expect(lock.inputs.bucketName).toBe(complianceBucketName);
    expect(lock.inputs.rules).toEqual([
      { id: "records-retention-7-years", enabled: true, prefix: "records/", condition: { type: "Age", maxAgeSeconds: SEVEN_YEARS_SECONDS } },
    ]);
    expect(SEVEN_YEARS_SECONDS).toBeGreaterThanOrEqual(7 * 365.25 * 86_400);
  });
});
