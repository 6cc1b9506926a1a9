/**
 * The API's replies as the client reads them: types derived from core's response schemas (type
 * imports only — nothing of core but its plain-data catalog reaches a bundle). The package build
 * writes them out as plain types (scripts/packages/build.ts), so the installed client has neither
 * core nor zod.
 */

import type { completeMultipartResponseSchema } from "@fitkit/core/multipart/complete";
import type { listPartsResponseSchema } from "@fitkit/core/multipart/list-parts";
import type { signPartsResponseSchema } from "@fitkit/core/multipart/sign-parts";
import type { callerPolicySchema } from "@fitkit/core/policies/caller-policy";
import type { signedUrlSchema } from "@fitkit/core/signed-urls/signed-urls";
import type { presignResponseSchema } from "@fitkit/core/staging/presign";
import type * as z from "zod";

/** One file of `POST /uploads`' reply: a single PUT with its URL, or a multipart plan. */
export type PresignAnswer = z.output<typeof presignResponseSchema>["uploads"][number];
/** `POST /uploads/{uploadId}/parts`: part URLs, and when they expire (ISO 8601). */
export type SignPartsAnswer = z.output<typeof signPartsResponseSchema>;
/** A part storage already holds (`GET /uploads/{uploadId}/parts`). */
export type StoredPart = z.output<typeof listPartsResponseSchema>["parts"][number];
/** `POST /uploads/{uploadId}/complete`: the assembled object. */
export type CompletedUpload = z.output<typeof completeMultipartResponseSchema>;
/**
 * One key's answer of `POST /uploads/signed-urls`: a `url` only when `ready`; images and videos
 * also carry their displayed size and placeholder once processed, videos their duration; `code`
 * says why a `failed` one has no URL.
 */
export type SignedUrl = z.output<typeof signedUrlSchema>;
/** `GET /uploads/policy`: the owner types this caller may presign, their types and size limits. */
export type UploadPolicy = z.output<typeof callerPolicySchema>;
