/**
 * The links the handlers read with `Resource.<Name>` (names from `LINK_NAMES`, shapes parsed by
 * core's config schema; the local stack sets the same names through `SST_RESOURCE_<Name>`). Each
 * groups the secrets of one dependency, so linking a function to `Clerk` is the only way it can
 * see the Clerk key.
 */
import { DEFAULT_CLAMD_PORT } from "@fitkit/core/config";
import type { LinkName } from "./functions.js";
import type { Queues } from "./queues.js";
import type { Secrets } from "./secrets.js";
import type { UploadSettings } from "./stage-config.js";
import type { Storage } from "./storage.js";

/** What `link: [...]` accepts from us: SST components that carry link properties. */
export type LinkTarget = sst.Linkable<Record<string, unknown>> | sst.cloudflare.Bucket;

/**
 * `"host:port"` (or `"host"`, port DEFAULT_CLAMD_PORT; `"[v6]:port"`) → `{ host, port }`.
 * Empty means scanning is off: `{ host: "", port: 0 }`.
 */
export function parseClamdAddress(address: string): { host: string; port: number } {
  const value = address.trim();
  if (value === "") return { host: "", port: 0 };
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(value);
  const port = match?.[2] === undefined ? DEFAULT_CLAMD_PORT : Number(match[2]);
  if (!match?.[1] || port < 1 || port > 65_535) {
    throw new Error(`ClamdAddress must be "host:port" (or empty to turn scanning off), got "${address}"`);
  }
  return { host: match[1].replace(/^\[|\]$/g, ""), port };
}

export function r2Endpoint(accountId: $util.Input<string>): $util.Output<string> {
  return $interpolate`https://${accountId}.r2.cloudflarestorage.com`;
}

export function createLinks(args: { secrets: Secrets; storage: Storage; queues: Queues; uploadSettings: UploadSettings }): Record<LinkName, LinkTarget> {
  const { secrets, storage } = args;
  const endpoint = r2Endpoint(secrets.R2AccountId.value);
  const clamd = secrets.ClamdAddress.value.apply(parseClamdAddress);

  return {
    MediaBucket: storage.media,
    ComplianceBucket: storage.compliance,
    R2Writer: new sst.Linkable("R2Writer", {
      properties: {
        endpoint,
        accessKeyId: secrets.R2WriterAccessKeyId.value,
        secretAccessKey: secrets.R2WriterSecretAccessKey.value,
      },
    }),
    R2Reader: new sst.Linkable("R2Reader", {
      properties: {
        endpoint,
        accessKeyId: secrets.R2ReaderAccessKeyId.value,
        secretAccessKey: secrets.R2ReaderSecretAccessKey.value,
      },
    }),
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
    Clamd: new sst.Linkable("Clamd", {
      properties: {
        host: clamd.apply((c) => c.host),
        port: clamd.apply((c) => c.port),
      },
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
