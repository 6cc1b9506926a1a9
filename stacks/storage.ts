/**
 * The R2 buckets and their rules: CORS for direct browser uploads/downloads through presigned
 * URLs, a lifecycle rule that aborts abandoned multipart uploads, and on the compliance bucket a
 * retention lock on `records/` (where consume promotes signed documents). The prefixes are core's,
 * where the keys are made: the lock cannot drift from where records are written.
 */
import { INCOMING_PREFIX, RECORDS_PREFIX } from "@fitkit/core/policies/object-keys";
import { uploadCorsRule } from "./cors.js";

/**
 * The backstop for multipart uploads nobody completed: well past their longest life in the app
 * (`multipartMaxLifetimeSeconds`, 24 h by default, after which the sweeper aborts them).
 */
export const ABORT_MULTIPART_AFTER_SECONDS = 7 * 24 * 60 * 60;

/**
 * 7 years counted in days including the leap days any 7-year span can hold (at most 2), so no
 * record is unlocked before its seventh anniversary.
 */
export const RECORDS_RETENTION_SECONDS = (7 * 365 + 2) * 24 * 60 * 60;
/** Well past any staging deadline (presign TTL + grace), so only leftovers expire. */
export const INCOMING_EXPIRY_SECONDS = 7 * 24 * 60 * 60;

export interface StorageArgs {
  /** The Cloudflare account of the buckets (the R2AccountId secret, so buckets and endpoint agree). */
  accountId: $util.Input<string>;
  appOrigins: readonly string[];
  /** Keep the buckets (and their objects) when the stage is removed. */
  retain: boolean;
}

export function createStorage(args: StorageArgs) {
  const options = { retainOnDelete: args.retain };
  const media = new sst.cloudflare.Bucket("MediaBucket", { accountId: args.accountId }, options);
  const compliance = new sst.cloudflare.Bucket("ComplianceBucket", { accountId: args.accountId }, options);

  // The same rule the local stack applies to its embedded S3 (stacks/cors.ts).
  const cors = uploadCorsRule(args.appOrigins);

  for (const [name, bucket] of [
    ["MediaBucket", media],
    ["ComplianceBucket", compliance],
  ] as const) {
    new cloudflare.R2BucketCors(
      `${name}Cors`,
      {
        accountId: args.accountId,
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
        accountId: args.accountId,
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
          // A signature's incoming/ copy is swept (unconsumed) or deleted after promotion to
          // records/; if that delete ever fails, the copy expires here instead of lingering.
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

  new cloudflare.R2BucketLock(
    "ComplianceBucketLock",
    {
      accountId: args.accountId,
      bucketName: compliance.name,
      rules: [
        {
          id: "records-retention-7-years",
          enabled: true,
          prefix: RECORDS_PREFIX,
          condition: { type: "Age", maxAgeSeconds: RECORDS_RETENTION_SECONDS },
        },
      ],
    },
    options,
  );

  return { media, compliance };
}

export type Storage = ReturnType<typeof createStorage>;
