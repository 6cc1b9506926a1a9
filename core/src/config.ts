/**
 * The one configuration schema. Handlers read the linked resources (SST `Resource`, or the same
 * JSON through `SST_RESOURCE_<Name>` on the local stack) and parse each section here once per cold
 * start; a missing or bad value fails fast with an error that names the resource and field.
 */
import * as z from "zod";
import { DEFAULT_MULTIPART_PART_BYTES, DEFAULT_MULTIPART_THRESHOLD_BYTES, MAX_PRESIGN_EXPIRES_SECONDS, MIN_PART_BYTES } from "./contract/catalog.js";

const positiveInt = z.coerce.number().int("must be a whole number").positive("must be ≥ 1");

/** `UploadSettings.dependencyTimeoutMs` when unset; also the adapters' default when built without one. */
export const DEFAULT_DEPENDENCY_TIMEOUT_MS = 5000;

/** clamd's own default TCP port; `stacks/links.ts` uses it for a `ClamdAddress` without a port. */
export const DEFAULT_CLAMD_PORT = 3310;

const r2Credentials = z.object({
  endpoint: z.url(),
  accessKeyId: z.string().min(1),
  secretAccessKey: z.string().min(1),
  /** R2 takes "auto"; other S3 endpoints may need a real region. */
  region: z.string().min(1).default("auto"),
});

const bucketName = z.string().regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, "must be a bucket name (3–63 of a–z, 0–9, -)");

export const configSchemas = {
  UploadSettings: z
    .object({
      presignTtlSeconds: positiveInt
        .max(MAX_PRESIGN_EXPIRES_SECONDS, `must be ≤ ${MAX_PRESIGN_EXPIRES_SECONDS} (the SigV4 limit of a presigned URL)`)
        .default(600),
      stagingGraceSeconds: z.coerce.number().int("must be a whole number").min(0, "must be ≥ 0").default(3600),
      orgQuotaBytes: positiveInt.default(10_737_418_240),
      /** Bytes one user may hold reserved (presigned, not yet consumed or given back) in an org at once. */
      userInFlightBytes: positiveInt.default(2_147_483_648),
      /** How long a presign's idempotency key answers retries; absent = the URL lifetime (`presignTtlSeconds`). */
      presignIdempotencySeconds: positiveInt.optional(),
      presignRatePerMinute: positiveInt.default(60),
      publicPutRatePerMinute: positiveInt.default(20),
      scanMaxBytes: positiveInt.default(104_857_600),
      /** Files larger than this are uploaded in parts (R2 multipart); smaller videos only when the client asks. */
      multipartThresholdBytes: positiveInt.default(DEFAULT_MULTIPART_THRESHOLD_BYTES),
      /** Preferred part size of a multipart upload (R2: at least 5 MiB; grown when a file would need over MAX_PARTS parts). */
      multipartPartBytes: positiveInt.min(MIN_PART_BYTES, `must be ≥ ${MIN_PART_BYTES} (R2's minimum part size)`).default(DEFAULT_MULTIPART_PART_BYTES),
      /** Signing parts keeps a multipart upload staged, but never longer than this after its presign. */
      multipartMaxLifetimeSeconds: positiveInt.default(86_400),
      /**
       * How long the retention lock keeps a record under `records/` after it was written; the
       * erasure receipt dates each retained record with it. Set it to the lock of the stage's bucket.
       */
      recordsRetentionSeconds: positiveInt.default((7 * 365 + 2) * 24 * 3600),
      /**
       * The orphan audit's circuit breaker: when more than this share (percent) of a bucket has no
       * record, records were lost rather than objects orphaned, and the audit deletes nothing
       * there (it also needs more than 10 orphans, or more than the bucket's known objects:
       * core/src/audit/orphan-audit.ts).
       */
      orphanAuditMaxUnknownPercent: z.coerce.number().min(0, "must be ≥ 0").max(100, "must be ≤ 100").default(5),
      /**
       * The longest one storage or Redis call may wait (connect, request, idle socket) before it
       * fails with DependencyUnavailableError (503). S3 makes at most two attempts, so a stalled
       * bucket answers within about twice this; keep it well under the functions' timeouts.
       */
      dependencyTimeoutMs: positiveInt.min(100, "must be ≥ 100").max(30_000, "must be ≤ 30000").default(DEFAULT_DEPENDENCY_TIMEOUT_MS),
    })
    // A replay hands out the first answer's URLs: they must not outlive what the sweeper assumes.
    .refine((s) => s.presignIdempotencySeconds === undefined || s.presignIdempotencySeconds <= s.presignTtlSeconds, {
      path: ["presignIdempotencySeconds"],
      message: "must be ≤ presignTtlSeconds (a replay answers with the first answer's URLs)",
    }),
  /**
   * R2 credentials: `R2MediaWriter` / `R2ComplianceWriter` (read/write tokens, each scoped to its
   * bucket) or `R2Reader` (read-only token, signing GETs).
   */
  R2: r2Credentials,
  Bucket: z.object({ name: bucketName }),
  /**
   * The public bucket of published renditions: its name, the public URL it is served at (a custom
   * domain deployed, `/public-media/` of the local stack), and a writer token scoped to it alone.
   * `cachePurge`: the Cloudflare zone of that custom domain and a token allowed to purge its cache
   * (unpublish purges the renditions' URLs); null where nothing caches in front (r2.dev, local).
   */
  PublicMedia: r2Credentials.extend({
    name: bucketName,
    baseUrl: z.url(),
    cachePurge: z
      .object({ zoneId: z.string().regex(/^[0-9a-f]{32}$/, "must be a Cloudflare zone id (32 hex digits)"), apiToken: z.string().min(1) })
      .nullable()
      .default(null),
  }),
  /**
   * Upstash (restUrl + restToken) in production; `url` (ioredis) for a self-hosted Redis; or an
   * explicit `kind: "memory"` — the in-memory store, for one process (only the local stack sets
   * it). Nothing configured is an error naming the setting, never a silent in-memory fallback.
   */
  Redis: z
    .object({
      kind: z.literal("memory").optional(),
      restUrl: z.url().optional(),
      restToken: z.string().min(1).optional(),
      url: z
        .string()
        .regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL")
        .optional(),
    })
    .superRefine((r, context) => {
      if (!r.restUrl !== !r.restToken) context.addIssue({ code: "custom", message: "restUrl and restToken go together" });
      const redisSettings = Boolean(r.restUrl || r.restToken || r.url);
      if (r.kind === "memory" && redisSettings) {
        context.addIssue({ code: "custom", path: ["kind"], message: '"memory" takes no Redis settings (restUrl, restToken, url)' });
      }
      if (r.kind === undefined && !redisSettings) {
        context.addIssue({ code: "custom", path: ["restUrl"], message: "required: the Upstash REST URL (with restToken), or url for a self-hosted Redis" });
      }
    }),
  Clerk: z
    .object({
      jwtKey: z.string().min(1).optional(),
      secretKey: z.string().min(1).optional(),
      /** Comma-separated origins; when set, the token's `azp` must be one of them. */
      authorizedParties: z.string().default(""),
    })
    .refine((c) => c.jwtKey || c.secretKey, { message: "jwtKey (networkless) or secretKey is required" }),
  /** The scanner Lambda (`scanner/`), invoked by name: deployed stages. */
  ScannerFunction: z.object({ name: z.string().min(1) }),
  /** A clamd reached directly over TCP: the local stack and tests. */
  Clamd: z.object({
    host: z.string().default(""),
    port: z.coerce.number().int().min(0).max(65_535).default(DEFAULT_CLAMD_PORT),
  }),
  /**
   * The media-processing queue: SQS (`url`, as SST links an `sst.aws.Queue`) deployed, or an explicit
   * `kind: "in-process"` — the local stack's process-media handler in the same process.
   */
  Queue: z
    .object({ kind: z.literal("in-process").optional(), url: z.url().optional() })
    .refine((q) => Boolean(q.kind) !== Boolean(q.url), { message: 'url (the SQS queue URL), or kind "in-process" (local stack only) — exactly one' }),
} as const;

export type ConfigSection = keyof typeof configSchemas;
export type Config<S extends ConfigSection> = z.output<(typeof configSchemas)[S]>;
export type UploadSettings = Config<"UploadSettings">;

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parses one section; `source` names where it came from (e.g. "Resource.UploadSettings"). */
export function parseConfig<S extends ConfigSection>(section: S, raw: unknown, source: string = section): Config<S> {
  const result = configSchemas[section].safeParse(raw ?? {});
  if (!result.success) throw new ConfigError(`Invalid configuration — ${problemsOf(result.error, source).join("; ")}`);
  return result.data as Config<S>;
}

/**
 * Every problem of `raw` as one section, each naming `<source>.<field>`; empty when it parses.
 * For callers that collect problems of their own too (the stage config checks upload settings
 * with this, so stacks and handlers accept exactly the same values).
 */
export function configProblems(section: ConfigSection, raw: unknown, source: string = section): string[] {
  const result = configSchemas[section].safeParse(raw ?? {});
  return result.success ? [] : problemsOf(result.error, source);
}

const problemsOf = (error: z.ZodError, source: string): string[] => error.issues.map((i) => `${[source, ...i.path].join(".")}: ${i.message}`);

export const authorizedPartiesOf = (clerk: Config<"Clerk">): string[] =>
  clerk.authorizedParties
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
