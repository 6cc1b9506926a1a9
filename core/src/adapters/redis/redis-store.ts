/**
 * Staging, multipart plans, quotas and linked objects, signature tokens, media variants and
 * published media on Redis, shared by the ioredis and Upstash drivers: one class implementing the
 * six ports, composed of one area each (redis-<area>.ts, its Lua in <area>-scripts.ts, its
 * in-memory twin memory/memory-<area>.ts). They are one store because their scripts span each
 * other's keys atomically (stage reserves quota, commit_consume links objects and fills the media
 * outbox), not because one area's code reads another's.
 */
import type { MediaVariants } from "../../media/media-variants.js";
import type { PublishedMedia } from "../../publishing/published-media.js";
import type { LinkedObjects } from "../../quotas/linked-objects.js";
import type { QuotaLedger } from "../../quotas/quota-ledger.js";
import type { SignatureTokens } from "../../signatures/signature-tokens.js";
import type { StagingStore } from "../../staging/staging-store.js";
import type { RedisScriptDriver } from "./driver.js";
import { RedisArea } from "./redis-area.js";
import { RedisMedia } from "./redis-media.js";
import { RedisMultipart } from "./redis-multipart.js";
import { RedisPublishing } from "./redis-publishing.js";
import { RedisQuotas } from "./redis-quotas.js";
import { RedisSignatures } from "./redis-signatures.js";
import { RedisStaging } from "./redis-staging.js";

export class RedisStore
  extends RedisPublishing(RedisMedia(RedisSignatures(RedisQuotas(RedisMultipart(RedisStaging(RedisArea))))))
  implements StagingStore, SignatureTokens, QuotaLedger, LinkedObjects, MediaVariants, PublishedMedia
{
  // Restates the base's parameter: a mixin's own constructor takes anything.
  constructor(redis: RedisScriptDriver) {
    super(redis);
  }
}
