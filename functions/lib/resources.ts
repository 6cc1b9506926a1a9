/**
 * Configuration comes one way everywhere: SST links (`Resource`), which the local stack provides
 * through the same `SST_RESOURCE_<Name>` variables. Each section is parsed with the core schema.
 */
import { type Config, ConfigError, type ConfigSection, parseConfig } from "@fitkit/core/config";
import { Resource } from "sst/resource";
import { BUCKET_WRITERS, type BucketLink } from "./bucket-tokens.js";

const linked = Resource as unknown as Record<string, unknown>;

export const isLinked = (name: string): boolean => name in linked;

/** A linked resource parsed as `section`; throws a ConfigError naming it when missing or invalid. */
export function readLinked<S extends ConfigSection>(name: string, section: S): Config<S> {
  const cacheKey = `${name}\u0000${section}`;
  const cached = parsedLinks.get(cacheKey);
  if (cached !== undefined) return cached as Config<S>;
  if (!isLinked(name)) throw new ConfigError(`Resource.${name} is not linked to this function (SST_RESOURCE_${name} is unset).`);
  const parsed = parseConfig(section, linked[name], `Resource.${name}`);
  parsedLinks.set(cacheKey, parsed);
  return parsed;
}

/**
 * Links parsed so far. SST loads them once per process (sst/resource), so a link parsed once stays
 * true for the container's life; request paths (signed-urls reads three bucket names per request)
 * then parse nothing. A missing or invalid link is not cached: it throws at every use.
 */
const parsedLinks = new Map<string, unknown>();

/** The SST stage this function runs in (`Resource.App`, which SST links to every function); "local" without it. */
export function readStage(): string {
  const app = linked.App as { stage?: unknown } | undefined;
  return typeof app?.stage === "string" ? app.stage : "local";
}

/** The bucket names from the linked buckets. */
export function readBuckets(): { media: string; compliance: string } {
  return { media: readLinked("MediaBucket", "Bucket").name, compliance: readLinked("ComplianceBucket", "Bucket").name };
}

/** The upload buckets and the retained records' bucket (signed-urls, which signs records too). */
export function readBucketsWithRecords(): { media: string; compliance: string; records: string } {
  return { ...readBuckets(), records: readBucket("RecordsBucket") };
}

/** Like readBuckets, for functions linked to one bucket only (the other name is then unusable). */
export function readBucket(name: "MediaBucket" | "ComplianceBucket" | "RecordsBucket"): string {
  return readLinked(name, "Bucket").name;
}

/**
 * The write token for the bucket named `bucket`: the writer linked beside the bucket link of that
 * name (`R2MediaWriter` for MediaBucket, `R2ComplianceWriter` for ComplianceBucket). A bucket this
 * function is not linked to, or whose writer it lacks, is a ConfigError naming what is missing.
 */
export function readWriterFor(bucket: string): Config<"R2"> {
  for (const link of Object.keys(BUCKET_WRITERS) as BucketLink[]) {
    if (isLinked(link) && readLinked(link, "Bucket").name === bucket) return readLinked(BUCKET_WRITERS[link], "R2");
  }
  throw new ConfigError(`No bucket named "${bucket}" is linked to this function, so it holds no token to write it.`);
}
