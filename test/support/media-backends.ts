/**
 * What the media-processing tests run on: a real redis-server (the ioredis RedisStore) and the
 * SigV4-checking S3 server with the media and compliance buckets, started together and closed together.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RedisStore } from "@fitkit/core/adapters/redis/redis-store";
import { createS3Client } from "@fitkit/core/adapters/s3/s3-client";
import { S3ObjectStore } from "@fitkit/core/adapters/s3/s3-object-store";
import { type EmbeddedS3, startEmbeddedS3 } from "../../local/embedded-s3.js";
import { RedisBackends } from "./staging-adapters.js";

export interface MediaBackends {
  backends: RedisBackends;
  store: RedisStore;
  s3: EmbeddedS3;
  objects: S3ObjectStore;
  close(): Promise<void>;
}

export async function startMediaBackends(buckets: { media: string; compliance: string }, dirPrefix: string): Promise<MediaBackends> {
  const backends = new RedisBackends();
  await backends.start();
  const s3 = await startEmbeddedS3({ directory: await mkdtemp(join(tmpdir(), dirPrefix)), buckets: [buckets.media, buckets.compliance] });
  return {
    backends,
    store: backends.store("ioredis") as RedisStore,
    s3,
    objects: new S3ObjectStore(createS3Client({ endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey })),
    close: async () => {
      await s3.close();
      await backends.close();
    },
  };
}
