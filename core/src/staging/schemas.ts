/** Request schemas of the staged-upload operations (the handlers validate with these). */
import * as z from "zod";
import { SAFE_SEGMENT } from "../policies/object-keys.js";
import { OWNER_TYPES } from "../policies/owner-types.js";

export const safeId = z.string().regex(SAFE_SEGMENT, "must be 1–128 characters of A–Z, a–z, 0–9, _ or -");
export const ownerTypeSchema = z.enum(OWNER_TYPES as [string, ...string[]]).transform((v) => v as (typeof OWNER_TYPES)[number]);
/** Base64 of exactly 32 bytes. */
export const sha256Base64 = z.string().regex(/^[A-Za-z0-9+/]{43}=$/, "must be the base64 of a 32-byte SHA-256");

export const presignRequestSchema = z.object({
  ownerType: ownerTypeSchema,
  files: z
    .array(
      z.object({
        contentType: z.string().min(1).max(255),
        size: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
        // Metadata only, but it is stored: refuse text that is not well-formed Unicode (lone surrogates).
        fileName: z
          .string()
          .min(1)
          .max(255)
          .refine((name) => name.isWellFormed(), "must be well-formed Unicode text")
          .optional(),
        sha256: sha256Base64.optional(),
      }),
    )
    .min(1)
    .max(10),
});
export type PresignRequest = z.output<typeof presignRequestSchema>;

export const consumeRequestSchema = z.object({
  uploadIds: z.array(safeId).min(1).max(100),
  ownerType: ownerTypeSchema,
  owner: z.object({ orgId: safeId, userId: safeId.optional() }),
  idempotencyKey: z.string().min(1).max(255),
});
export type ConsumeRequest = z.output<typeof consumeRequestSchema>;
