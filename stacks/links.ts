/**
 * The links the handlers read with `Resource.<Name>` (names from `LINK_NAMES`, shapes parsed by
 * core's config schema; the local stack sets the same names through `SST_RESOURCE_<Name>`). Each
 * groups the secrets of one dependency, so linking a function to `Clerk` is the only way it can
 * see the Clerk key, and to `R2ComplianceWriter` the only way it can write the compliance bucket.
 */
import type { LinkName } from "./functions.js";
import type { Queues } from "./queues.js";
import { CACHE_PURGE_SECRET, type Secrets } from "./secrets.js";
import type { PublicMediaDomain, UploadSettings } from "./stage-config.js";
import type { Storage } from "./storage.js";

/** What `link: [...]` accepts from us: SST components that carry link properties. */
export type LinkTarget = sst.Linkable<Record<string, unknown>> | sst.cloudflare.Bucket;

export function r2Endpoint(accountId: $util.Input<string>): $util.Output<string> {
  return $interpolate`https://${accountId}.r2.cloudflarestorage.com`;
}

export interface ScannerLinkTarget {
  name: $util.Input<string>;
  arn: $util.Input<string>;
}

export function createLinks(args: {
  secrets: Secrets;
  storage: Storage;
  scanner: ScannerLinkTarget;
  queues: Queues;
  uploadSettings: UploadSettings;
  /** The public bucket's custom domain: its zone's cache is purged on unpublish. Null on r2.dev. */
  publicMediaDomain: PublicMediaDomain | null;
}): Record<LinkName, LinkTarget> {
  const { secrets, storage } = args;
  const endpoint = r2Endpoint(secrets.R2AccountId.value);
  const r2Token = (name: string, accessKeyId: sst.Secret, secretAccessKey: sst.Secret) =>
    new sst.Linkable(name, { properties: { endpoint, accessKeyId: accessKeyId.value, secretAccessKey: secretAccessKey.value } });

  return {
    MediaBucket: storage.media,
    ComplianceBucket: storage.compliance,
    R2MediaWriter: r2Token("R2MediaWriter", secrets.R2MediaWriterAccessKeyId, secrets.R2MediaWriterSecretAccessKey),
    R2ComplianceWriter: r2Token("R2ComplianceWriter", secrets.R2ComplianceWriterAccessKeyId, secrets.R2ComplianceWriterSecretAccessKey),
    R2Reader: r2Token("R2Reader", secrets.R2ReaderAccessKeyId, secrets.R2ReaderSecretAccessKey),
    Redis: new sst.Linkable("Redis", {
      properties: {
        restUrl: secrets.UpstashRedisRestUrl.value,
        restToken: secrets.UpstashRedisRestToken.value,
      },
    }),
    Clerk: new sst.Linkable("Clerk", {
      properties: {
        jwtKey: secrets.ClerkJwtKey.value,
        authorizedParties: secrets.ClerkAuthorizedParties.value,
      },
    }),
    // The only grant of invoke on the scanner: linked functions get lambda:InvokeFunction on it.
    ScannerFunction: new sst.Linkable("ScannerFunction", {
      properties: { name: args.scanner.name },
      include: [sst.aws.permission({ actions: ["lambda:InvokeFunction"], resources: [args.scanner.arn] })],
    }),
    UploadSettings: new sst.Linkable("UploadSettings", {
      properties: { ...args.uploadSettings },
    }),
    // The public bucket with its own token (Object Read & Write on that bucket only): only publish,
    // unpublish and release are linked to it, and it cannot touch uploads or records.
    PublicMedia: new sst.Linkable("PublicMedia", {
      properties: {
        name: storage.publicMedia.name,
        baseUrl: storage.publicBaseUrl,
        endpoint,
        accessKeyId: secrets.R2PublicWriterAccessKeyId.value,
        secretAccessKey: secrets.R2PublicWriterSecretAccessKey.value,
        // Renditions are cached at Cloudflare's edge for a year: unpublish purges their URLs there.
        // The token may only purge that zone's cache; r2.dev has no cache of ours to purge.
        cachePurge: args.publicMediaDomain ? { zoneId: args.publicMediaDomain.zoneId, apiToken: new sst.Secret(CACHE_PURGE_SECRET.name).value } : null,
      },
    }),
    // The queue's URL (core's Queue config section) and the right to send to it — only that, where
    // linking the Queue component itself would grant sqs:* on it.
    MediaQueue: new sst.Linkable("MediaQueue", {
      properties: { url: args.queues.MediaQueue.url },
      include: [sst.aws.permission({ actions: ["sqs:SendMessage"], resources: [args.queues.MediaQueue.arn] })],
    }),
  };
}
