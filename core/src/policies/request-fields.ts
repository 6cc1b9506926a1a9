/** Field schemas shared by the use-cases' request schemas: ids that are safe in keys, owner types, checksums, idempotency keys. */
import * as z from "zod";
import { SAFE_SEGMENT } from "./object-keys.js";
import { OWNER_TYPES } from "./owner-types.js";

export const safeId = z.string().regex(SAFE_SEGMENT, "must be 1–128 characters of A–Z, a–z, 0–9, _ or -");
export const ownerTypeSchema = z.enum(OWNER_TYPES as [string, ...string[]]).transform((v) => v as (typeof OWNER_TYPES)[number]);
/** Base64 of exactly 32 bytes. */
export const sha256Base64 = z.string().regex(/^[A-Za-z0-9+/]{43}=$/, "must be the base64 of a 32-byte SHA-256");
/** A client's idempotency key (consume, presign): any text; the server only ever stores its hash. */
export const idempotencyKeySchema = z.string().min(1).max(255);
