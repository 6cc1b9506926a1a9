/**
 * How a multipart upload is cut into parts, as R2 requires: every part but the last of one size,
 * at least `MIN_PART_BYTES`, at most `MAX_PARTS` parts. The plan is made once at presign and kept on the record;
 * signing, listing and completion all derive part sizes from it.
 */
import { MAX_PARTS, MIN_PART_BYTES } from "../contract/catalog.js";
import type { MultipartPlan } from "../uploads/upload.js";

const MIB = 1024 * 1024;

/**
 * The part size for `size` bytes: `preferredPartBytes` (at least `MIN_PART_BYTES`), grown in whole
 * MiB when the file would otherwise need more than `MAX_PARTS` parts.
 */
export function planParts(size: number, preferredPartBytes: number): Omit<MultipartPlan, "storageUploadId"> {
  const fewestPartsSize = Math.ceil(size / MAX_PARTS / MIB) * MIB;
  const partSize = Math.max(MIN_PART_BYTES, preferredPartBytes, fewestPartsSize);
  return { partSize, partCount: Math.max(1, Math.ceil(size / partSize)) };
}

/** Bytes of part `partNumber` (1-based) of an upload of `size` bytes under `plan`. */
export function partSizeOf(plan: Pick<MultipartPlan, "partSize" | "partCount">, size: number, partNumber: number): number {
  return partNumber < plan.partCount ? plan.partSize : size - plan.partSize * (plan.partCount - 1);
}
