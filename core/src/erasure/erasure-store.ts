/**
 * The erasure port (docs/ARCHITECTURE.md, "Erasure"): the state of one erasure — the block that
 * keeps new uploads of its scope out, the objects it noted before deleting them, the records it
 * keeps — and the receipt it ends with. Every method is one atomic step.
 *
 * Counting by notes, not by deletions: an object is noted (once, by bucket and key) before it is
 * deleted, so an invocation that dies between the two leaves a note its retry honours (the retry
 * deletes it again: deleting is idempotent), and one that dies after the deletion leaves nothing
 * uncounted — the totals are the same however often, and wherever, an erasure was interrupted.
 */
import type { OwnerType } from "../contract/catalog.js";
import type { StagedUpload } from "../uploads/upload.js";

/** Whose uploads: one member of an org, or (userId null) every upload of the org. */
export interface ErasureScope {
  orgId: string;
  userId: string | null;
}

/** One erasure: its scope and the server-made id its caller's idempotency key maps to. */
export interface ErasureRef {
  /** SHA-256 over (scope, idempotency key): the same key for the same scope is the same erasure. */
  id: string;
  scope: ErasureScope;
}

/** An object the erasure deletes, noted before it goes. */
export interface ErasedObject {
  bucket: string;
  key: string;
  /** Of the upload it is (or is a copy of); null when its key names none (counted as `unknown`). */
  ownerType: OwnerType | null;
  /** The upload it is (or is a copy of); uploads are counted once per id whatever their copies. */
  uploadId: string | null;
  size: number;
}

/** An object the erasure may not delete (under the retention lock), and until when it stays. */
export interface RetainedObject {
  bucket: string;
  key: string;
  size: number;
  /** When its retention ends (ms since the epoch). */
  until: number;
}

/** Per owner type: uploads (distinct upload ids), objects (uploads and every copy) and their bytes. */
export interface ErasureCounts {
  uploads: number;
  objects: number;
  bytes: number;
}

/** At most this many retained objects are listed by key in a receipt; all are counted. */
export const RETAINED_LISTED_MAX = 1000;

/** Why retained objects stay (the receipt says it with them). */
export const RETENTION_REASON =
  "Signed forms under records/ are kept by the bucket's retention lock until their retention period ends (a legal duty to keep them outlives a request to erase); nothing can delete them before.";

/** As stored: times in ms since the epoch (the use-case answers them as ISO strings). */
export interface ErasureReceipt {
  orgId: string;
  /** null: the whole organisation was erased. */
  userId: string | null;
  startedAt: number;
  completedAt: number;
  /** By owner type (`unknown`: objects under the scope's prefixes whose key names no upload). */
  deleted: Record<string, ErasureCounts>;
  /** Totals over `deleted`. */
  objects: number;
  bytes: number;
  retained: {
    /** RETENTION_REASON. */
    reason: string;
    objects: number;
    bytes: number;
    /** The latest retention end of them, null when none is retained. */
    until: number | null;
    /** Each retained object, at most RETAINED_LISTED_MAX (`truncated` says when more were counted). */
    items: RetainedObject[];
    truncated: boolean;
  };
}

/** Totals noted so far (the answer of a batch, so a caller can show progress). */
export interface ErasureProgress {
  objects: number;
  bytes: number;
}

export type BeginOutcome = { state: "running"; startedAt: number } | { state: "complete"; receipt: ErasureReceipt };

export interface Erasures {
  /**
   * Starts the erasure, or finds it: the stored receipt when it completed; else it is (or stays)
   * running, and its scope is blocked — stage and commitConsume refuse the scope's uploads with
   * `erasing` / ERASURE_IN_PROGRESS until it completes. Beginning twice blocks once.
   */
  beginErasure(erasure: ErasureRef): Promise<BeginOutcome>;
  /**
   * Notes objects about to be deleted — each (bucket, key) once, each upload id once — into the
   * running erasure's totals, and answers the totals. A completed erasure notes nothing.
   */
  noteErased(erasure: ErasureRef, objects: ErasedObject[]): Promise<ErasureProgress>;
  /** Notes objects kept under the retention lock, each once (listed in the receipt up to RETAINED_LISTED_MAX). */
  noteRetained(erasure: ErasureRef, objects: RetainedObject[]): Promise<void>;
  /**
   * One page of the upload records of `scope` on the sweeper's deadline list (staged, abandoned or
   * claimed — every upload not yet consumed or swept), scanning up to `count` entries from
   * `cursor` ("0" starts; "0" answered means done). Every entry listed for the whole scan is seen
   * at least once; entries added meanwhile may be missed (the block keeps the scope's out).
   */
  scopeUploadsInFlight(scope: ErasureScope, cursor: string, count: number): Promise<{ uploads: StagedUpload[]; cursor: string }>;
  /**
   * Completes the erasure once: builds the receipt from the notes, stores it for `receiptTtlSeconds`
   * (later begins answer it), drops the notes and lifts the block. A completed erasure answers its
   * stored receipt and changes nothing.
   */
  finishErasure(erasure: ErasureRef, receiptTtlSeconds: number): Promise<ErasureReceipt>;
}
