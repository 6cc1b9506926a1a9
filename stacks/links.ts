/**
 * The links the handlers read with `Resource.<Name>` (names from `LINK_NAMES`, shapes parsed by
 * core's config schema; the local stack sets the same names through `SST_RESOURCE_<Name>`). Each
 * groups the credentials of one dependency, so linking a function to `Clerk` is the only way it can
 * see the Clerk key, and to `R2ComplianceWriter` the only way it can write the compliance bucket.
 *
 * The R2 tokens are created here, one per role, each scoped to its buckets (stacks/tokens.ts), in
 * the stage's jurisdiction, and reached through that jurisdiction's endpoint.
 */
import type { LinkName } from "./functions.js";
import type { Queues } from "./queues.js";
import { CACHE_PURGE_SECRET, type Secrets } from "./secrets.js";
import type { PublicMediaDomain, R2Jurisdiction, UploadSettings } from "./stage-config.js";
import type { Storage } from "./storage.js";
import { createR2Token, r2EndpointUrl } from "./tokens.js";

/** What `link: [...]` accepts from us: SST components that carry link properties. */
export type LinkTarget = sst.Linkable<Record<string, unknown>> | sst.cloudflare.Bucket;

/** The S3 endpoint every R2 client of the stage uses: the account's, in the stage's jurisdiction. */
export function r2Endpoint(accountId: $util.Input<string>, jurisdiction: R2Jurisdiction): $util.Output<string> {
  return $util.output(accountId).apply((id) => r2EndpointUrl(id, jurisdiction));
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
  jurisdiction: R2Jurisdiction;
}): Record<LinkName, LinkTarget> {
  const { secrets, storage, jurisdiction } = args;
  const accountId = secrets.R2AccountId.value;
  const endpoint = r2Endpoint(accountId, jurisdiction);
  const tokenName = (role: string) => `${$app.name}-${$app.stage}-${role}`;
  const r2Token = (name: string, role: string, buckets: { write?: sst.cloudflare.Bucket[]; read?: sst.cloudflare.Bucket[] }) => {
    const { accessKeyId, secretAccessKey } = createR2Token(`${name}Token`, {
      accountId,
      jurisdiction,
      name: tokenName(role),
      write: (buckets.write ?? []).map((bucket) => bucket.name),
      read: (buckets.read ?? []).map((bucket) => bucket.name),
    });
    return { endpoint, accessKeyId, secretAccessKey };
  };
  const link = (name: string, role: string, buckets: { write?: sst.cloudflare.Bucket[]; read?: sst.cloudflare.Bucket[] }) =>
    new sst.Linkable(name, { properties: r2Token(name, role, buckets) });

  const publicWriter = r2Token("PublicMedia", "public-writer", { write: [storage.publicMedia] });
  return {
    MediaBucket: storage.media,
    ComplianceBucket: storage.compliance,
    RecordsBucket: storage.records,
    R2MediaWriter: link("R2MediaWriter", "media-writer", { write: [storage.media] }),
    R2ComplianceWriter: link("R2ComplianceWriter", "compliance-writer", { write: [storage.compliance] }),
    // Consume's promotion: a server-side copy from the compliance bucket into the records bucket,
    // made with the destination's token, which must also read the source.
    R2RecordsWriter: link("R2RecordsWriter", "records-writer", { write: [storage.records], read: [storage.compliance] }),
    // signed-urls signs GETs of media and of retained records; it never signs the compliance bucket's incoming/.
    R2Reader: link("R2Reader", "reader", { read: [storage.media, storage.records] }),
    // publish reads the processed images it publishes: the media bucket only.
    R2MediaReader: link("R2MediaReader", "media-reader", { read: [storage.media] }),
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
    // unpublish, release and the two erasures are linked to it, and it cannot touch uploads or records.
    PublicMedia: new sst.Linkable("PublicMedia", {
      properties: {
        name: storage.publicMedia.name,
        baseUrl: storage.publicBaseUrl,
        ...publicWriter,
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
