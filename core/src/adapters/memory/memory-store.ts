/**
 * The in-memory twin of RedisStore — staging, multipart plans, quotas and linked objects, signature
 * tokens, media variants and published media (the same six ports) in one process: the embedded
 * default for the local stack, and the fake behind core unit tests. It is composed of the same
 * areas as RedisStore, each the twin of one Redis area (memory-<area>.ts ↔ redis/redis-<area>.ts),
 * over one MemoryState (memory-state.ts: the maps, the clock, the snapshot and the journal). It
 * keeps the scripts' semantics (the contract suites run it too); JavaScript's single thread makes
 * each method atomic as long as it never awaits mid-step.
 */
import type { MediaVariants } from "../../media/media-variants.js";
import type { PublishedMedia } from "../../publishing/published-media.js";
import type { LinkedObjects } from "../../quotas/linked-objects.js";
import type { QuotaLedger } from "../../quotas/quota-ledger.js";
import type { SignatureTokens } from "../../signatures/signature-tokens.js";
import type { StagingStore } from "../../staging/staging-store.js";
import { type Clock, systemClock } from "../../time/clock.js";
import { MemoryMedia } from "./memory-media.js";
import { MemoryMultipart } from "./memory-multipart.js";
import { MemoryPublishing } from "./memory-publishing.js";
import { MemoryQuotas } from "./memory-quotas.js";
import { MemorySignatures } from "./memory-signatures.js";
import { MemoryStaging } from "./memory-staging.js";
import { MemoryState } from "./memory-state.js";

export class MemoryStore
  extends MemoryPublishing(MemoryMedia(MemorySignatures(MemoryQuotas(MemoryMultipart(MemoryStaging(MemoryState))))))
  implements StagingStore, SignatureTokens, QuotaLedger, LinkedObjects, MediaVariants, PublishedMedia
{
  // Restates the base's parameter: a mixin's own constructor takes anything.
  constructor(clock: Clock = systemClock) {
    super(clock);
  }
}
