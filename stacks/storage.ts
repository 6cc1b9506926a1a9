/**
 * The R2 buckets and their rules: CORS for direct browser uploads/downloads through presigned
 * URLs, a lifecycle rule that aborts abandoned multipart uploads, and the retained records' own
 * bucket (`records/…`, where consume promotes signed documents), locked whole. Records are kept
 * apart from the compliance bucket because R2 tokens scope to a bucket, not a prefix: the
 * unauthenticated signature functions hold the compliance bucket's token and must not be able to
 * read any org's records. The prefixes are core's, where the keys are made.
 *
 * Every bucket is created in the stage's R2 jurisdiction (`r2Jurisdiction`), and so is every rule
 * on it: the provider addresses a bucket by account, jurisdiction and name.
 *
 * Only production keeps records for 7 years. R2 refuses to delete a locked object, and the lock
 * rule outlives nothing: a stage whose compliance bucket held a 7-year lock could never be emptied
 * and removed. Other stages lock for a day — the rule is exercised, and the stage stays removable.
 *
 * The lock binds the objects, not the people who hold the deploy token: a Cloudflare token with R2
 * edit rights can change or delete the lock rules (and then the objects). In production the buckets
 * and the lock are Pulumi-`protect`ed so no deploy replaces or deletes them (docs/deploy.md).
 */
import { INCOMING_PREFIX, STAGING_PREFIX } from "@fitkit/core/policies/object-keys";
import { publicReadCorsRule, uploadCorsRule } from "./cors.js";
import type { PublicMediaDomain, R2Jurisdiction } from "./stage-config.js";

/**
 * The backstop for multipart uploads nobody completed: well past their longest life in the app
 * (`multipartMaxLifetimeSeconds`, 24 h by default, after which the sweeper aborts them; a stage
 * config whose lifetime and grace do not end a day before this is refused, `stacks/stage-config.ts`).
 */
export const ABORT_MULTIPART_AFTER_SECONDS = 7 * 24 * 60 * 60;

/**
 * 7 years counted in days including the leap days any 7-year span can hold (at most 2), so no
 * record is unlocked before its seventh anniversary.
 */
export const RECORDS_RETENTION_SECONDS = (7 * 365 + 2) * 24 * 60 * 60;
/** Other stages: long enough to see the lock refuse a delete, short enough to remove the stage tomorrow. */
export const NON_PRODUCTION_RECORDS_RETENTION_SECONDS = 24 * 60 * 60;
/** Well past any staging deadline (presign TTL + grace), so only leftovers expire. */
export const INCOMING_EXPIRY_SECONDS = 7 * 24 * 60 * 60;
/**
 * Staged media (`staging/` of the media bucket) expire after this age. A staged object lives at most
 * until its staging deadline — the PUT URL's life + grace, or for a multipart upload
 * `multipartMaxLifetimeSeconds` (24 h by default) + grace — and is copied to its linked key at
 * consume, so anything older is a leftover (a delete that failed after promotion, a record Redis lost).
 * 7 days leaves days of margin over the longest deadline; a stage that raises
 * `multipartMaxLifetimeSeconds` past ~6 days must raise this too (`validateStageConfig` refuses it
 * otherwise, naming both).
 */
export const STAGED_MEDIA_EXPIRY_SECONDS = 7 * 24 * 60 * 60;

export interface StorageArgs {
  /** The Cloudflare account of the buckets (the R2AccountId secret, so buckets and endpoint agree). */
  accountId: $util.Input<string>;
  /** The jurisdiction every bucket (and every rule on it) is created in. */
  jurisdiction: R2Jurisdiction;
  appOrigins: readonly string[];
  /** The public bucket's custom domain; null = R2's managed r2.dev domain (development stages). */
  publicMediaDomain: PublicMediaDomain | null;
  /** Keep the buckets (and their objects) when the stage is removed. */
  retain: boolean;
  /** Production: the 7-year lock, and buckets and lock protected against replacement or deletion. */
  production: boolean;
}

export function createStorage(args: StorageArgs) {
  const options = { retainOnDelete: args.retain };
  // `protect` on the R2 resources themselves (a component's own option does not stop its children).
  const kept = { ...options, protect: args.production };
  const where = { accountId: args.accountId, jurisdiction: args.jurisdiction };
  const bucket = (name: string) =>
    new sst.cloudflare.Bucket(
      name,
      {
        accountId: args.accountId,
        transform: {
          bucket: (bucketArgs, opts) => {
            bucketArgs.jurisdiction = args.jurisdiction;
            opts.protect = args.production;
          },
        },
      },
      options,
    );
  const media = bucket("MediaBucket");
  const compliance = bucket("ComplianceBucket");
  // The retained records: written only by consume's promotion (R2RecordsWriter), read only with
  // R2Reader (GET URLs that signed-urls makes; erase-org's listing of what the lock keeps). Locked whole.
  const records = bucket("RecordsBucket");

  // The same rule the local stack applies to its embedded S3 (stacks/cors.ts).
  const cors = uploadCorsRule(args.appOrigins);

  for (const [name, bucket] of [
    ["MediaBucket", media],
    ["ComplianceBucket", compliance],
  ] as const) {
    new cloudflare.R2BucketCors(
      `${name}Cors`,
      {
        ...where,
        bucketName: bucket.name,
        rules: [
          {
            id: "presigned-browser-access",
            allowed: { origins: cors.allowedOrigins, methods: cors.allowedMethods, headers: cors.allowedHeaders },
            exposeHeaders: cors.exposeHeaders,
            maxAgeSeconds: cors.maxAgeSeconds,
          },
        ],
      },
      options,
    );

    new cloudflare.R2BucketLifecycle(
      `${name}Lifecycle`,
      {
        ...where,
        bucketName: bucket.name,
        rules: [
          {
            id: "abort-incomplete-multipart-uploads",
            enabled: true,
            conditions: { prefix: "" },
            abortMultipartUploadsTransition: {
              condition: { type: "Age", maxAge: ABORT_MULTIPART_AFTER_SECONDS },
            },
          },
          // A staged media object is swept (unconsumed) or deleted after its copy to the linked key;
          // if that delete ever fails (or Redis lost its record), it expires here instead of lingering.
          ...(name === "MediaBucket"
            ? [
                {
                  id: "expire-staged-media",
                  enabled: true,
                  conditions: { prefix: STAGING_PREFIX },
                  deleteObjectsTransition: { condition: { type: "Age", maxAge: STAGED_MEDIA_EXPIRY_SECONDS } },
                },
              ]
            : []),
          // A signature's incoming/ copy is swept (unconsumed) or deleted after promotion to the
          // records bucket; if that delete ever fails, the copy expires here instead of lingering.
          ...(name === "ComplianceBucket"
            ? [
                {
                  id: "expire-incoming-signatures",
                  enabled: true,
                  conditions: { prefix: INCOMING_PREFIX },
                  deleteObjectsTransition: { condition: { type: "Age", maxAge: INCOMING_EXPIRY_SECONDS } },
                },
              ]
            : []),
        ],
      },
      options,
    );
  }

  // Records are only ever read (signed GET URLs from the app's origins), never uploaded by a browser.
  new cloudflare.R2BucketCors(
    "RecordsBucketCors",
    {
      ...where,
      bucketName: records.name,
      rules: [{ id: "signed-read", allowed: { origins: cors.allowedOrigins, methods: ["GET", "HEAD"] }, maxAgeSeconds: cors.maxAgeSeconds }],
    },
    options,
  );

  // Every object of the records bucket: nothing else is ever written there.
  new cloudflare.R2BucketLock(
    "RecordsBucketLock",
    {
      ...where,
      bucketName: records.name,
      rules: [
        args.production
          ? { id: "records-retention-7-years", enabled: true, prefix: "", condition: { type: "Age", maxAgeSeconds: RECORDS_RETENTION_SECONDS } }
          : {
              id: "records-retention-1-day",
              enabled: true,
              prefix: "",
              condition: { type: "Age", maxAgeSeconds: NON_PRODUCTION_RECORDS_RETENTION_SECONDS },
            },
      ],
    },
    kept,
  );

  // Published renditions (core's PUBLIC_PREFIX) — the only bucket served without a signature; the
  // other buckets have no public domain at all (R2's default). Named "Published" so its physical
  // name (…-publishedbucket-<8>) fits 63 characters at the longest stage name, and protected in
  // production like the others (a replacement would break every published URL).
  const publicMedia = bucket("Published");
  const publicCors = publicReadCorsRule();
  new cloudflare.R2BucketCors(
    "PublicMediaBucketCors",
    {
      ...where,
      bucketName: publicMedia.name,
      rules: [
        {
          id: "public-read",
          allowed: { origins: publicCors.allowedOrigins, methods: publicCors.allowedMethods },
          maxAgeSeconds: publicCors.maxAgeSeconds,
        },
      ],
    },
    options,
  );
  const publicDomain = args.publicMediaDomain
    ? new cloudflare.R2CustomDomain(
        "PublicMediaDomain",
        {
          ...where,
          bucketName: publicMedia.name,
          domain: args.publicMediaDomain.domain,
          zoneId: args.publicMediaDomain.zoneId,
          enabled: true,
          minTls: "1.2",
        },
        options,
      ).domain
    : new cloudflare.R2ManagedDomain("PublicMediaManagedDomain", { ...where, bucketName: publicMedia.name, enabled: true }, options).domain;

  return { media, compliance, records, publicMedia, publicBaseUrl: $interpolate`https://${publicDomain}/` };
}

export type Storage = ReturnType<typeof createStorage>;
