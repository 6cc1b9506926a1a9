/**
 * The erasure port on Redis (erasure-scripts.ts; its in-memory twin is memory/memory-erasures.ts),
 * over the same driver as RedisStore but a port of its own: the block it sets is a field of the
 * org's quota hash, which the staging area's stage and commit_consume read.
 */
import {
  type BeginOutcome,
  type ErasedObject,
  type ErasureProgress,
  type ErasureReceipt,
  type ErasureRef,
  type ErasureScope,
  type Erasures,
  RETAINED_LISTED_MAX,
  RETENTION_REASON,
  type RetainedObject,
} from "../../erasure/erasure-store.js";
import type { StagedUpload } from "../../uploads/upload.js";
import * as scripts from "./erasure-scripts.js";
import { listOf, RedisArea } from "./redis-area.js";
import { redisKeys } from "./redis-keys.js";

/** A receipt as the scripts encode it: Lua has no empty array (`{}`), no null user (''), no null time (0). */
export function decodeReceipt(raw: string): ErasureReceipt {
  const r = JSON.parse(raw) as ErasureReceipt & { userId: string; retained: { until: number; items: RetainedObject[] | Record<string, never> } };
  return {
    ...r,
    userId: r.userId === "" ? null : r.userId,
    retained: { ...r.retained, until: r.retained.until === 0 ? null : r.retained.until, items: Array.isArray(r.retained.items) ? r.retained.items : [] },
  };
}

export class RedisErasures extends RedisArea implements Erasures {
  async beginErasure(erasure: ErasureRef): Promise<BeginOutcome> {
    const reply = await this.run<{ state: "running"; startedAt: number } | { state: "complete"; receipt: string }>(
      scripts.BEGIN_ERASURE,
      [redisKeys.erasure(erasure.id), redisKeys.quota(erasure.scope.orgId)],
      [erasure.scope.orgId, erasure.scope.userId ?? ""],
    );
    return reply.state === "complete" ? { state: "complete", receipt: decodeReceipt(reply.receipt) } : reply;
  }

  async noteErased(erasure: ErasureRef, objects: ErasedObject[]): Promise<ErasureProgress> {
    return this.run(
      scripts.NOTE_ERASED,
      [redisKeys.erasure(erasure.id), redisKeys.erasureSeen(erasure.id), redisKeys.erasureTally(erasure.id)],
      objects.map((o) => JSON.stringify({ b: o.bucket, k: o.key, t: o.ownerType ?? "", u: o.uploadId ?? "", s: o.size })),
    );
  }

  async noteRetained(erasure: ErasureRef, objects: RetainedObject[]): Promise<void> {
    if (objects.length === 0) return;
    await this.run(
      scripts.NOTE_RETAINED,
      [redisKeys.erasure(erasure.id), redisKeys.erasureRetained(erasure.id)],
      [String(RETAINED_LISTED_MAX), ...objects.map((o) => JSON.stringify({ bucket: o.bucket, key: o.key, size: o.size, until: o.until }))],
    );
  }

  async scopeUploadsInFlight(scope: ErasureScope, cursor: string, count: number): Promise<{ uploads: StagedUpload[]; cursor: string }> {
    const reply = await this.run<{ cursor: string; uploads: string[] | Record<string, never> }>(
      scripts.SCOPE_UPLOADS_IN_FLIGHT,
      [redisKeys.deadlines()],
      [cursor, String(count), redisKeys.uploadPrefix(), scope.orgId, scope.userId ?? ""],
    );
    return { cursor: reply.cursor, uploads: listOf(reply.uploads).map((raw) => JSON.parse(raw) as StagedUpload) };
  }

  async finishErasure(erasure: ErasureRef, receiptTtlSeconds: number): Promise<ErasureReceipt> {
    const reply = await this.run<{ receipt: string }>(
      scripts.FINISH_ERASURE,
      [
        redisKeys.erasure(erasure.id),
        redisKeys.erasureSeen(erasure.id),
        redisKeys.erasureTally(erasure.id),
        redisKeys.erasureRetained(erasure.id),
        redisKeys.quota(erasure.scope.orgId),
      ],
      [String(receiptTtlSeconds * 1000), RETENTION_REASON, String(RETAINED_LISTED_MAX)],
    );
    if (reply.receipt === "") throw new Error(`erasure ${erasure.id} was never begun`);
    return decodeReceipt(reply.receipt);
  }
}
