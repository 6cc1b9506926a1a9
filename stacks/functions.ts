/**
 * The one table of deployed functions: which handler, how it is triggered, and which links it
 * may read. Everything in `stacks/api.ts` is derived from this data; nothing else in `stacks/`
 * names a handler or a link list.
 *
 * Links are least privilege: a function that is not linked to a resource gets neither its values
 * (SST bundles linked values, encrypted, into each function's own package) nor anything else.
 * The public signature functions never see Clerk, and their token reaches the compliance bucket
 * only, never the retained records; the GET-signing function only holds the read-only R2 token
 * (`R2Reader`, which erase-org also holds to list the records the lock keeps); each writer holds
 * only the bucket-scoped R2 write token of the buckets it writes (`R2MediaWriter`,
 * `R2ComplianceWriter`; `R2RecordsWriter` — consume's promotion only). docs/deploy.md, "The R2
 * tokens", lists who holds which. `ScannerFunction` also grants invoke on the virus scanner
 * (`stacks/scanner.ts`).
 *
 * The local stack serves the same table (`local/functions.ts`): routes, internal operations and
 * schedules all come from here.
 *
 * This module must not touch SST globals at import time (the wiring tests and the local stack
 * import it directly).
 */

/** The link names the handlers read through `Resource.<Name>` (the local stack sets the same names). */
export const LINK_NAMES = [
  "MediaBucket",
  "ComplianceBucket",
  "RecordsBucket",
  "R2MediaWriter",
  "R2ComplianceWriter",
  "R2RecordsWriter",
  "R2Reader",
  "R2MediaReader",
  "Redis",
  "Clerk",
  "ScannerFunction",
  "UploadSettings",
  "MediaQueue",
  "PublicMedia",
] as const;
export type LinkName = (typeof LINK_NAMES)[number];

/**
 * The bucket-scoped R2 write token of each bucket link: a function linked to a bucket it writes
 * gets that bucket's writer, and no other (the runtime picks the credentials per bucket the same way).
 */
export { BUCKET_WRITERS } from "../functions/lib/bucket-tokens.js";

type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
export type RouteKey = `${HttpMethod} /${string}`;

interface FunctionSpecBase {
  /** `functions/<file>.handler`: the file exports `handler`. */
  handler: `functions/${string}.handler`;
  links: readonly LinkName[];
  /** Lambda timeout; SST's default (20 seconds) when absent. */
  timeout?: `${number} ${"second" | "seconds" | "minute" | "minutes"}`;
  /** Lambda memory; SST's default (1024 MB) when absent. */
  memory?: `${number} MB`;
  /** Lambda's ephemeral storage (`/tmp`); SST's default (512 MB) when absent. */
  storage?: `${number} MB`;
  /** Packages SST installs into the bundle (`nodejs.install`) instead of inlining them: native binaries for Lambda's Linux. */
  install?: readonly string[];
  /**
   * Code splitting (`nodejs.splitting`): what the handler reaches only through a dynamic `import()`
   * goes into chunks beside its bundle, loaded on the first request that needs them, so a cold
   * start parses and runs only the request path's code.
   */
  splitting?: true;
  /**
   * Reserved concurrency: this many concurrent executions are set aside for the function (a flood
   * on the public routes cannot take them) and it never runs more than that.
   */
  reservedConcurrency?: number;
  /** Lambda's retries of a failed asynchronous invoke (a schedule's); Lambda's default (2) when absent. */
  asyncRetries?: 0 | 1 | 2;
  /**
   * Deployed as a container image built from this Dockerfile (the handler's bundle with native
   * tools from Debian) instead of SST's zip package: `stacks/media-worker.ts`. Its `install`
   * packages are installed in the image, beside the bundle.
   */
  image?: { dockerfile: string };
}

/** Served by API Gateway v2 on `route`. */
export interface HttpFunctionSpec extends FunctionSpecBase {
  route: RouteKey;
  internal?: never;
  schedule?: never;
  queue?: never;
}

/** No route: invoked with Lambda Invoke by the caller roles in the stage config (and by `schedule`). */
export interface InternalFunctionSpec extends FunctionSpecBase {
  /**
   * The table key is also the operation's name in the API contract (the local stack serves
   * `POST /internal/<key>`, the SDK and `internalFunctions` use it): one name finds the handler,
   * the table entry, the operation and its docs.
   */
  internal: true;
  route?: never;
  queue?: never;
  /** EventBridge Scheduler expression, e.g. `rate(5 minutes)`. */
  schedule?: `rate(${string})` | `cron(${string})`;
}

/** The queues of the stack (`stacks/queues.ts` makes them; each has a dead-letter queue). */
export const QUEUE_NAMES = ["MediaQueue"] as const;
export type QueueName = (typeof QUEUE_NAMES)[number] & LinkName;

/** No route: the subscriber of `queue` (SQS event source, partial batch responses); the local stack drives it in-process. */
export interface QueueFunctionSpec extends FunctionSpecBase {
  queue: QueueName;
  route?: never;
  internal?: never;
  schedule?: never;
}

export type FunctionSpec = HttpFunctionSpec | InternalFunctionSpec | QueueFunctionSpec;

export const FUNCTIONS = {
  presign: {
    handler: "functions/presign.handler",
    route: "POST /uploads",
    // The media writer also begins multipart uploads of large videos (CreateMultipartUpload).
    links: ["MediaBucket", "R2MediaWriter", "Redis", "Clerk", "UploadSettings"],
    // The S3 client (multipart only) and ioredis (self-hosted Redis only) stay out of the cold start.
    splitting: true,
  },
  "upload-parts": {
    handler: "functions/upload-parts.handler",
    route: "POST /uploads/{uploadId}/parts",
    // Signs UploadPart URLs (no storage call) and moves the upload's deadline in Redis.
    links: ["MediaBucket", "R2MediaWriter", "Redis", "Clerk", "UploadSettings"],
  },
  "list-upload-parts": {
    handler: "functions/list-upload-parts.handler",
    route: "GET /uploads/{uploadId}/parts",
    links: ["MediaBucket", "R2MediaWriter", "Redis", "Clerk", "UploadSettings"],
  },
  "complete-upload": {
    handler: "functions/complete-upload.handler",
    route: "POST /uploads/{uploadId}/complete",
    // ListParts + CompleteMultipartUpload: R2 assembles up to 500 MiB server-side.
    links: ["MediaBucket", "R2MediaWriter", "Redis", "Clerk", "UploadSettings"],
    // Behind API Gateway's 30-second integration limit (ROUTE_TIMEOUT_LIMIT_SECONDS).
    timeout: "28 seconds",
  },
  "cancel-upload": {
    handler: "functions/cancel-upload.handler",
    route: "DELETE /uploads/{uploadId}",
    links: ["MediaBucket", "R2MediaWriter", "Redis", "Clerk", "UploadSettings"],
  },
  "signed-urls": {
    handler: "functions/signed-urls.handler",
    route: "POST /uploads/signed-urls",
    // Stable URLs come from time-bucketed signing dates, not a cache; Redis is read (one batched
    // read) only for the processing state and variant keys of images; UploadSettings bounds that read.
    links: ["MediaBucket", "ComplianceBucket", "RecordsBucket", "R2Reader", "Clerk", "Redis", "UploadSettings"],
  },
  "upload-policy": {
    handler: "functions/upload-policy.handler",
    route: "GET /uploads/policy",
    // Pure policy from the owner-type table: it only verifies the session.
    links: ["Clerk"],
  },
  "public-signature-put": {
    handler: "functions/public-signature-put.handler",
    route: "PUT /public/signatures/{token}",
    links: ["ComplianceBucket", "R2ComplianceWriter", "Redis", "ScannerFunction", "UploadSettings"],
    // Waits on a (possibly cold) scanner: the app's own 503 comes before API Gateway's limit.
    timeout: "28 seconds",
    // Bounds the scans this route can run at once, which the scanner's reservation covers.
    reservedConcurrency: 5,
  },
  "public-signature-upload-request": {
    handler: "functions/public-signature-upload-request.handler",
    route: "POST /public/signatures/{token}/uploads",
    // Signs a PUT and stages it; deletes a replaced pending upload's object. Never reads the bytes: no clamd.
    links: ["ComplianceBucket", "R2ComplianceWriter", "Redis", "UploadSettings"],
  },
  "public-signature-complete": {
    handler: "functions/public-signature-complete.handler",
    route: "POST /public/signatures/{token}/complete",
    links: ["ComplianceBucket", "R2ComplianceWriter", "Redis", "ScannerFunction", "UploadSettings"],
    // HEAD, a range read and one pass over up to 25 MiB (hash, and the scanner reading the stored
    // object), within API Gateway's 30-second integration limit (ROUTE_TIMEOUT_LIMIT_SECONDS).
    timeout: "28 seconds",
    // Bounds the scans this route can run at once, which the scanner's reservation covers.
    reservedConcurrency: 5,
  },
  health: {
    handler: "functions/health.handler",
    route: "GET /health",
    links: [],
    memory: "256 MB",
  },
  consume: {
    handler: "functions/consume.handler",
    internal: true,
    // The records writer: promotion copies a signature into the locked records bucket.
    links: [
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
    // N parallel HEAD/range reads plus a scan of up to scanMaxBytes each (SCAN_CLIENT.maxConcurrentScans
    // at once); a scanner that starts cold loads its definitions first (tens of seconds), and one
    // scan call with its retry may take SCAN_CLIENT's whole budget: above that.
    timeout: "4 minutes",
    // Each consume scans up to SCAN_CLIENT.maxConcurrentScans at once: the scanner reserves for all.
    reservedConcurrency: 10,
  },
  release: {
    handler: "functions/release.handler",
    internal: true,
    // UploadSettings for dependencyTimeoutMs, the bound on its storage and Redis calls; PublicMedia
    // to unpublish a released upload that was published.
    links: ["MediaBucket", "ComplianceBucket", "R2MediaWriter", "R2ComplianceWriter", "Redis", "UploadSettings", "PublicMedia"],
    timeout: "60 seconds",
  },
  publish: {
    handler: "functions/publish.handler",
    internal: true,
    // Reads the processed image with a reader of the media bucket only; writes only the public bucket (its own token).
    links: ["MediaBucket", "R2MediaReader", "Redis", "PublicMedia", "UploadSettings"],
    // Up to 10 encodings (WebP and AVIF at five widths) of an image of up to 50 MP.
    memory: "2048 MB",
    timeout: "60 seconds",
    install: ["sharp"],
  },
  unpublish: {
    handler: "functions/unpublish.handler",
    internal: true,
    links: ["Redis", "PublicMedia", "UploadSettings"],
  },
  "erase-user": {
    handler: "functions/erase-user.handler",
    internal: true,
    // As release (delete, unlink, unpublish) plus the compliance bucket's writer for the multipart
    // aborts of uploads in flight; Redis for the block, the notes and the receipt.
    links: ["MediaBucket", "ComplianceBucket", "R2MediaWriter", "R2ComplianceWriter", "Redis", "UploadSettings", "PublicMedia"],
    // Batches run while more than 15 s are left, then the reply carries a cursor to call again with.
    timeout: "5 minutes",
  },
  "erase-org": {
    handler: "functions/erase-org.handler",
    internal: true,
    // Also deletes unconsumed signatures under incoming/, and lists the records bucket (read-only
    // token) to report what the retention lock keeps.
    links: ["MediaBucket", "ComplianceBucket", "RecordsBucket", "R2MediaWriter", "R2ComplianceWriter", "R2Reader", "Redis", "UploadSettings", "PublicMedia"],
    timeout: "5 minutes",
  },
  "export-user": {
    handler: "functions/export-user.handler",
    internal: true,
    // Lists and signs with the media bucket's read-only token; writes nothing, reads no record.
    links: ["MediaBucket", "ComplianceBucket", "RecordsBucket", "R2MediaReader", "Redis", "UploadSettings"],
  },
  "issue-signature-token": {
    handler: "functions/issue-signature-token.handler",
    internal: true,
    links: ["Redis", "UploadSettings"],
  },
  usage: {
    handler: "functions/usage.handler",
    internal: true,
    links: ["Redis", "UploadSettings"],
  },
  "set-quota": {
    handler: "functions/set-quota.handler",
    internal: true,
    links: ["Redis", "UploadSettings"],
  },
  sweeper: {
    handler: "functions/sweeper.handler",
    internal: true,
    schedule: "rate(5 minutes)",
    links: ["MediaBucket", "ComplianceBucket", "R2MediaWriter", "R2ComplianceWriter", "Redis", "UploadSettings", "MediaQueue"],
    // Runs every 5 minutes; must finish well before the next run (the lease covers overlap).
    timeout: "2 minutes",
    // The schedule plus an operator's manual run; the lease makes a second concurrent run a no-op.
    reservedConcurrency: 2,
    // A failed run is reported (alarm) and the next one is 5 minutes away: Lambda's two async
    // retries would only repeat the failure against the same backlog.
    asyncRetries: 0,
  },
  "orphan-audit": {
    handler: "functions/orphan-audit.handler",
    internal: true,
    // Daily and report-only: the schedule never deletes (an operator invokes with `{ "delete": true }`).
    schedule: "rate(1 day)",
    // Both writers: a delete invoke removes orphans; the scheduled run only lists and reads Redis.
    links: ["MediaBucket", "ComplianceBucket", "R2MediaWriter", "R2ComplianceWriter", "Redis", "UploadSettings"],
    // Lists both buckets whole, one batched Redis read per 1000 objects.
    timeout: "15 minutes",
  },
  "process-media": {
    handler: "functions/process-media.handler",
    queue: "MediaQueue",
    // UploadSettings for dependencyTimeoutMs, the bound on its storage and Redis calls.
    links: ["MediaBucket", "R2MediaWriter", "Redis", "UploadSettings"],
    // Bounded so a burst of uploads cannot take the account's concurrency from consume and the API.
    reservedConcurrency: 10,
    // A 48-MP photo decodes to ~190 MB of RGBA, held while three encodings run; 3008 MB also buys
    // Lambda's proportional CPU share (about two vCPUs) for the encoders.
    memory: "3008 MB",
    // Lambda's longest: a 300 s video's transcode is bounded at 60 s + 1.5 s per second of video
    // (8.5 minutes), its copy at 1 minute, plus its probe, poster and uploads
    // (core/src/media/video-pipeline.ts).
    timeout: "15 minutes",
    // A 500 MiB video is copied to /tmp for ffmpeg (which seeks in it), then its copy and rendition.
    storage: "2048 MB",
    // Debian's ffmpeg, ffprobe, heif-convert and prlimit: native tools with the distribution's
    // security fixes, in a container image built from this Dockerfile.
    image: { dockerfile: "media-worker/Dockerfile" },
    // sharp loads a native libvips: installed in the image for its platform (arm64), not bundled.
    install: ["sharp"],
  },
} as const satisfies Record<string, FunctionSpec>;

export type FunctionKey = keyof typeof FUNCTIONS;
export type InternalFunctionKey = {
  [K in FunctionKey]: (typeof FUNCTIONS)[K] extends { internal: true } ? K : never;
}[FunctionKey];

export const FUNCTION_KEYS = /* @__PURE__ */ Object.keys(FUNCTIONS) as FunctionKey[];

export const INTERNAL_FUNCTION_KEYS = /* @__PURE__ */ FUNCTION_KEYS.filter((key): key is InternalFunctionKey => "internal" in FUNCTIONS[key]);

export type QueueFunctionKey = {
  [K in FunctionKey]: (typeof FUNCTIONS)[K] extends { queue: QueueName } ? K : never;
}[FunctionKey];

export const QUEUE_FUNCTION_KEYS = /* @__PURE__ */ FUNCTION_KEYS.filter((key): key is QueueFunctionKey => "queue" in FUNCTIONS[key]);

/** The functions that answer a caller: every routed and internal one (a queue subscriber answers none). */
export type ServedFunctionKey = Exclude<FunctionKey, QueueFunctionKey>;

/** The HTTP status of a success: 201 when the call creates something, 204 when it answers no body. */
export type SuccessStatus = 200 | 201 | 204;

/**
 * The status of each served function's success, beside the table and keyed by it (a function
 * added without one does not compile): the handler answers it, the local stack serves an internal
 * operation's success with it (Lambda invoke has no status), and the API document states it.
 * Its own small export so a handler bundles these few bytes, not the table (`FUNCTIONS` and the
 * key lists are pure, so esbuild drops them from a handler that imports only this).
 */
export const SUCCESS_STATUS = {
  presign: 201,
  "upload-parts": 201,
  "list-upload-parts": 200,
  "complete-upload": 200,
  "cancel-upload": 204,
  "signed-urls": 200,
  "upload-policy": 200,
  "public-signature-put": 201,
  "public-signature-upload-request": 201,
  "public-signature-complete": 200,
  health: 200,
  consume: 200,
  release: 200,
  publish: 200,
  unpublish: 200,
  "erase-user": 200,
  "erase-org": 200,
  "export-user": 200,
  "issue-signature-token": 201,
  usage: 200,
  "set-quota": 200,
  sweeper: 200,
  "orphan-audit": 200,
} as const satisfies Record<ServedFunctionKey, SuccessStatus>;

/** `sweeper`, `consume`, …: the names of the internal operations, which are their table keys. */
export type InternalOperationName = InternalFunctionKey;

export function functionSpec(key: FunctionKey): FunctionSpec {
  return FUNCTIONS[key];
}

/** Routes under `/public/` take no Clerk session: the API throttles them tighter (stage config `throttle.public`). */
export function isPublicRoute(route: RouteKey): boolean {
  return route.split(" ")[1]!.startsWith("/public/");
}

/** `signed-urls` → `SignedUrls`: the SST component name (and the prefix of its resources). */
export function componentName(key: FunctionKey): string {
  return key
    .split("-")
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");
}

/**
 * API Gateway HTTP API integrations time out after 30 seconds, a limit that cannot be raised (API
 * Gateway quotas, "Maximum integration timeout"): a routed function must end before it, with the
 * app's own 503 (functions/lib/time-limit.ts) rather than API Gateway's. Every route's timeout is
 * below this.
 */
export const ROUTE_TIMEOUT_LIMIT_SECONDS = 29;

/** SST's default Lambda timeout (20 seconds), which a spec without `timeout` gets. */
export const DEFAULT_TIMEOUT_SECONDS = 20;

/** `"2 minutes"` → 120: a spec's duration in seconds. */
export function durationSeconds(duration: `${number} ${"second" | "seconds" | "minute" | "minutes"}`): number {
  const [amount, unit] = duration.split(" ") as [string, string];
  return Number(amount) * (unit.startsWith("minute") ? 60 : 1);
}

/** A function's Lambda timeout in seconds, SST's default included. */
export function timeoutSeconds(key: FunctionKey): number {
  const spec: FunctionSpec = FUNCTIONS[key];
  return spec.timeout ? durationSeconds(spec.timeout) : DEFAULT_TIMEOUT_SECONDS;
}

/** The functions of the table that reserve concurrency, with how much (the scanner's are in stacks/scanner.ts). */
export function reservedConcurrencyOf(): Partial<Record<FunctionKey, number>> {
  return Object.fromEntries(
    FUNCTION_KEYS.flatMap((key) => {
      const reserved = (FUNCTIONS[key] as FunctionSpec).reservedConcurrency;
      return reserved === undefined ? [] : [[key, reserved]];
    }),
  );
}
