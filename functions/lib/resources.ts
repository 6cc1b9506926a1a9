/**
 * Configuration comes one way everywhere: SST links (`Resource`), which the local stack provides
 * through the same `SST_RESOURCE_<Name>` variables. Each section is parsed with the core schema.
 */
import { type Config, ConfigError, type ConfigSection, parseConfig } from "@fitkit/core/config";
import { Resource } from "sst/resource";

const linked = Resource as unknown as Record<string, unknown>;

export const isLinked = (name: string): boolean => name in linked;

/** A linked resource parsed as `section`; throws a ConfigError naming it when missing or invalid. */
export function readLinked<S extends ConfigSection>(name: string, section: S): Config<S> {
  if (!isLinked(name)) throw new ConfigError(`Resource.${name} is not linked to this function (SST_RESOURCE_${name} is unset).`);
  return parseConfig(section, linked[name], `Resource.${name}`);
}

/** The bucket names from the linked buckets. */
export function readBuckets(): { media: string; compliance: string } {
  return { media: readLinked("MediaBucket", "Bucket").name, compliance: readLinked("ComplianceBucket", "Bucket").name };
}

/** Like readBuckets, for functions linked to one bucket only (the other name is then unusable). */
export function readBucket(name: "MediaBucket" | "ComplianceBucket"): string {
  return readLinked(name, "Bucket").name;
}
