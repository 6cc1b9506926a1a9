/**
 * The R2 API tokens the functions use, created in the stack — one per role, each scoped to the
 * buckets it needs (R2 scopes a token to buckets, not prefixes), so no token is ever made by hand.
 *
 * From the provider and Cloudflare, not from the mocks:
 * - `@pulumi/cloudflare` 6.15.0 `AccountToken` (accountToken.d.ts, types/input.d.ts
 *   `AccountTokenPolicy`): `policies[].resources` is a JSON *string*, permission groups are given
 *   by `id`; the token's `id` and its secret `value` are outputs.
 * - Cloudflare R2 "Authentication" (developers.cloudflare.com/r2/api/tokens/): an R2 S3 access key
 *   id is the token's id, and its secret access key is the SHA-256 (hex) of the token's value; a
 *   bucket is named in a policy as `com.cloudflare.edge.r2.bucket.<account>_<jurisdiction>_<bucket>`;
 *   the permission groups "Workers R2 Storage Bucket Item Read" and "… Item Write" have the fixed
 *   ids below.
 *
 * Creating account tokens needs the deploy's CLOUDFLARE_API_TOKEN to hold "Account API Tokens
 * Write" (docs/deploy.md). Rotating a token = replacing its resource (`sst deploy` after a
 * `--target`ed replace): the functions get the new credentials in the same deploy.
 */
import { createHash } from "node:crypto";
import type { R2Jurisdiction } from "./stage-config.js";

/** Cloudflare's permission group ids (the same for every account). */
export const R2_PERMISSION_GROUPS = {
  /** "Workers R2 Storage Bucket Item Read": read and list objects. */
  itemRead: "6a018a9f2fc74eb6b293b0c548f38b39",
  /** "Workers R2 Storage Bucket Item Write": write and delete objects. */
  itemWrite: "2efd5506f9c8494dacb1fa10a3e7d5b6",
} as const;

/** How a token policy names one bucket of the account. */
export function r2BucketResource(accountId: string, jurisdiction: R2Jurisdiction, bucketName: string): string {
  return `com.cloudflare.edge.r2.bucket.${accountId}_${jurisdiction}_${bucketName}`;
}

/** The S3 secret access key of an R2 token: the SHA-256 (hex) of the token's value. */
export function r2SecretAccessKey(tokenValue: string): string {
  return createHash("sha256").update(tokenValue).digest("hex");
}

/** The S3 endpoint of an account's buckets in `jurisdiction` (R2 "Authentication": the EU has its own). */
export function r2EndpointUrl(accountId: string, jurisdiction: R2Jurisdiction): string {
  return jurisdiction === "default" ? `https://${accountId}.r2.cloudflarestorage.com` : `https://${accountId}.${jurisdiction}.r2.cloudflarestorage.com`;
}

export interface R2TokenArgs {
  accountId: $util.Input<string>;
  jurisdiction: R2Jurisdiction;
  /** `fitkit-uploads-<stage>-media-writer`: how it shows in the Cloudflare dashboard. */
  name: string;
  /** Buckets it reads and writes. */
  write: $util.Input<string>[];
  /** Buckets it only reads. */
  read: $util.Input<string>[];
}

/** One account token with at most two policies (read+write, read-only), and its S3 credentials. */
export function createR2Token(component: string, args: R2TokenArgs) {
  const resources = (buckets: $util.Input<string>[]) =>
    $util
      .all([args.accountId, ...buckets])
      .apply(([accountId, ...names]) => JSON.stringify(Object.fromEntries(names.map((name) => [r2BucketResource(accountId, args.jurisdiction, name), "*"]))));
  const policies = [
    ...(args.write.length > 0
      ? [
          {
            effect: "allow",
            permissionGroups: [{ id: R2_PERMISSION_GROUPS.itemRead }, { id: R2_PERMISSION_GROUPS.itemWrite }],
            resources: resources(args.write),
          },
        ]
      : []),
    ...(args.read.length > 0 ? [{ effect: "allow", permissionGroups: [{ id: R2_PERMISSION_GROUPS.itemRead }], resources: resources(args.read) }] : []),
  ];
  const token = new cloudflare.AccountToken(component, { accountId: args.accountId, name: args.name, policies });
  return {
    token,
    accessKeyId: token.id,
    secretAccessKey: $util.secret(token.value.apply(r2SecretAccessKey)),
  };
}
