/**
 * The in-memory twin of RedisErasures, over a MemoryStore: the block is an entry of the org's quota
 * counters (`erasing`), which the store's stage and commitConsume read. Same semantics as the
 * scripts; each method is atomic (no await mid-step). Its own state is not in the store's snapshot:
 * a local stack restarted mid-erasure starts that erasure's notes over (the block entry is keyed by
 * the erasure, so its retry removes it).
 */
import {
  type BeginOutcome,
  type ErasedObject,
  type ErasureCounts,
  type ErasureProgress,
  type ErasureReceipt,
  type ErasureRef,
  type ErasureScope,
  type Erasures,
  RETAINED_LISTED_MAX,
  RETENTION_REASON,
  type RetainedObject,
} from "../../erasure/erasure-store.js";
import { type Clock, systemClock } from "../../time/clock.js";
import type { StagedUpload } from "../../uploads/upload.js";
import type { MemoryStore } from "./memory-store.js";

interface RunningErasure {
  scope: ErasureScope;
  startedAt: number;
  seen: Set<string>;
  deleted: Record<string, ErasureCounts>;
  objects: number;
  bytes: number;
  retainedSeen: Set<string>;
  retained: RetainedObject[];
  retainedCount: number;
  retainedBytes: number;
  retainedUntil: number;
}

export class MemoryErasures implements Erasures {
  private readonly running = new Map<string, RunningErasure>();
  private readonly receipts = new Map<string, { receipt: ErasureReceipt; expiresAt: number }>();

  constructor(
    private readonly store: MemoryStore,
    private readonly clock: Clock = systemClock,
  ) {}

  private blockEntry(erasure: ErasureRef): string {
    return `${erasure.scope.userId ?? "*"} ${erasure.id}`;
  }

  private receipt(id: string): ErasureReceipt | null {
    const stored = this.receipts.get(id);
    if (!stored) return null;
    if (stored.expiresAt <= this.clock.now()) {
      this.receipts.delete(id);
      return null;
    }
    return structuredClone(stored.receipt);
  }

  async beginErasure(erasure: ErasureRef): Promise<BeginOutcome> {
    const receipt = this.receipt(erasure.id);
    if (receipt) return { state: "complete", receipt };
    let state = this.running.get(erasure.id);
    if (!state) {
      state = {
        scope: { ...erasure.scope },
        startedAt: this.clock.now(),
        seen: new Set(),
        deleted: {},
        objects: 0,
        bytes: 0,
        retainedSeen: new Set(),
        retained: [],
        retainedCount: 0,
        retainedBytes: 0,
        retainedUntil: 0,
      };
      this.running.set(erasure.id, state);
    }
    this.store.setErasing(erasure.scope.orgId, this.blockEntry(erasure), true);
    return { state: "running", startedAt: state.startedAt };
  }

  async noteErased(erasure: ErasureRef, objects: ErasedObject[]): Promise<ErasureProgress> {
    const state = this.running.get(erasure.id);
    if (!state) return { objects: 0, bytes: 0 };
    for (const o of objects) {
      if (state.seen.has(`o:${o.bucket}/${o.key}`)) continue;
      state.seen.add(`o:${o.bucket}/${o.key}`);
      const type = o.ownerType ?? "unknown";
      const counts = state.deleted[type] ?? { uploads: 0, objects: 0, bytes: 0 };
      state.deleted[type] = counts;
      counts.objects += 1;
      counts.bytes += o.size;
      state.objects += 1;
      state.bytes += o.size;
      if (o.uploadId && !state.seen.has(`u:${o.uploadId}`)) {
        state.seen.add(`u:${o.uploadId}`);
        counts.uploads += 1;
      }
    }
    return { objects: state.objects, bytes: state.bytes };
  }

  async noteRetained(erasure: ErasureRef, objects: RetainedObject[]): Promise<void> {
    const state = this.running.get(erasure.id);
    if (!state) return;
    for (const o of objects) {
      const id = `${o.bucket}/${o.key}`;
      if (state.retainedSeen.has(id)) continue;
      state.retainedSeen.add(id);
      state.retainedCount += 1;
      state.retainedBytes += o.size;
      state.retainedUntil = Math.max(state.retainedUntil, o.until);
      if (state.retained.length < RETAINED_LISTED_MAX) state.retained.push({ ...o });
    }
  }

  async scopeUploadsInFlight(scope: ErasureScope, cursor: string, count: number): Promise<{ uploads: StagedUpload[]; cursor: string }> {
    // The cursor is the last upload id seen: ids in order, so one listed for the whole scan is seen once.
    const after = cursor === "0" ? "" : cursor;
    const ids = [...this.store.deadlines.keys()].filter((id) => id > after).sort();
    const page = ids.slice(0, count);
    const uploads = page.flatMap((id) => {
      const upload = this.store.uploads.get(id);
      return upload && upload.orgId === scope.orgId && (scope.userId === null || upload.userId === scope.userId) ? [structuredClone(upload)] : [];
    });
    return { uploads, cursor: page.length < count || page.length === ids.length ? "0" : page.at(-1)! };
  }

  async finishErasure(erasure: ErasureRef, receiptTtlSeconds: number): Promise<ErasureReceipt> {
    const stored = this.receipt(erasure.id);
    if (stored) return stored;
    const state = this.running.get(erasure.id);
    if (!state) throw new Error(`erasure ${erasure.id} was never begun`);
    const now = this.clock.now();
    const receipt: ErasureReceipt = {
      orgId: state.scope.orgId,
      userId: state.scope.userId,
      startedAt: state.startedAt,
      completedAt: now,
      deleted: state.deleted,
      objects: state.objects,
      bytes: state.bytes,
      retained: {
        reason: RETENTION_REASON,
        objects: state.retainedCount,
        bytes: state.retainedBytes,
        until: state.retainedCount > 0 ? state.retainedUntil : null,
        items: state.retained,
        truncated: state.retainedCount > state.retained.length,
      },
    };
    this.receipts.set(erasure.id, { receipt: structuredClone(receipt), expiresAt: now + receiptTtlSeconds * 1000 });
    this.running.delete(erasure.id);
    this.store.setErasing(erasure.scope.orgId, this.blockEntry(erasure), false);
    return receipt;
  }
}
