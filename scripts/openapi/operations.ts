/**
 * What the API document says about each deployed function beyond what the function table
 * (`stacks/functions.ts`) already states: a summary, its tag, the zod schemas of its request and
 * reply (exported beside each use-case) and the domain error codes it answers with. Route, method,
 * path parameters, auth, internal marking, the success status and the errors every route shares
 * are derived (see `document.ts`); nothing here repeats them.
 *
 * Keyed by the function table's keys; `buildOpenApiDocument` fails naming any routed or internal
 * function that has no entry here (and any entry whose function is gone).
 */

import { orphanAuditReportSchema, orphanAuditRequestSchema } from "@fitkit/core/audit/orphan-audit";
import { PRESIGN_MAX_FILES } from "@fitkit/core/contract/catalog";
import { eraseOrgRequestSchema, eraseResponseSchema, eraseUserRequestSchema } from "@fitkit/core/erasure/erase";
import { exportUserRequestSchema, exportUserResponseSchema } from "@fitkit/core/erasure/export-user";
import type { ErrorCode } from "@fitkit/core/errors";
import { healthResponseSchema } from "@fitkit/core/health";
import { completeMultipartRequestSchema, completeMultipartResponseSchema } from "@fitkit/core/multipart/complete";
import { listPartsResponseSchema } from "@fitkit/core/multipart/list-parts";
import { signPartsRequestSchema, signPartsResponseSchema } from "@fitkit/core/multipart/sign-parts";
import { callerPolicySchema } from "@fitkit/core/policies/caller-policy";
import { OWNER_TYPE_POLICIES } from "@fitkit/core/policies/owner-types";
import { publishRequestSchema, publishResponseSchema, unpublishRequestSchema, unpublishResponseSchema } from "@fitkit/core/publishing/publish";
import { releaseRequestSchema, releaseResponseSchema } from "@fitkit/core/quotas/release";
import { setQuotaRequestSchema, setQuotaResponseSchema } from "@fitkit/core/quotas/set-quota";
import { usageRequestSchema, usageResponseSchema } from "@fitkit/core/quotas/usage";
import { completeSignatureUploadSchema, requestSignatureUploadSchema } from "@fitkit/core/signatures/direct-signature-upload";
import { issueSignatureTokenResponseSchema, issueSignatureTokenSchema } from "@fitkit/core/signatures/issue-signature-token";
import { storedSignatureSchema } from "@fitkit/core/signatures/public-signature-upload";
import { signedUrlsRequestSchema, signedUrlsResponseSchema } from "@fitkit/core/signed-urls/signed-urls";
import { consumeRequestSchema, consumeResponseSchema } from "@fitkit/core/staging/consume";
import { presignedPutUploadSchema, presignedUploadSchema, presignRequestSchema, presignResponseSchema } from "@fitkit/core/staging/presign";
import { sweeperRequestSchema, sweeperResponseSchema } from "@fitkit/core/staging/sweeper";
import type { z } from "zod";

export type OperationTag = "uploads" | "signatures" | "health" | "internal";

export interface OperationDoc {
  /** Short, imperative: the reference page's operation title. */
  summary: string;
  description?: string;
  /** Routes only: internal operations are all tagged `internal`. */
  tag?: Exclude<OperationTag, "internal">;
  /** A JSON body validated by this schema, or raw bytes of these media types; absent: no body. */
  request?: { json: z.ZodType } | { raw: readonly string[] };
  /** The success reply: a JSON body validated by this schema, a body of another media type (e.g. an HTML page), or none (204). */
  response: z.ZodType | { raw: string } | null;
  /** The domain errors it answers with; INVALID_REQUEST, UNAUTHENTICATED, DEPENDENCY_UNAVAILABLE and INTERNAL are derived. */
  errors: readonly ErrorCode[];
  /** Descriptions of the route's path parameters (`{token}` → `token`). */
  pathParameters?: Record<string, string>;
  /** A handler outside the shared middy stack (no time limit, no error mapper): no derived 500/503. */
  bare?: true;
}

/** Schemas used by more than one operation, named once in `components.schemas`. */
export const SHARED_SCHEMAS: Readonly<Record<string, z.ZodType>> = {
  PresignedUpload: presignedUploadSchema,
  StoredSignature: storedSignatureSchema,
};

const TOKEN = "The signing link's secret (from `issue-signature-token`).";
const UPLOAD_ID = "The upload's id (32 hex digits), from presign.";
const OWN_UPLOAD_ERRORS: readonly ErrorCode[] = ["NOT_FOUND", "ALREADY_CONSUMED", "EXPIRED"];
const TOKEN_ERRORS: readonly ErrorCode[] = ["NOT_FOUND", "EXPIRED", "TOKEN_USED", "RATE_LIMITED"];

export const OPERATION_DOCS: Readonly<Record<string, OperationDoc>> = {
  presign: {
    summary: "Presign uploads",
    description: `Stages 1–${PRESIGN_MAX_FILES} files of one owner type (quota, bytes in flight and rate limit checked in one step) and signs one PUT URL per file.`,
    tag: "uploads",
    request: { json: presignRequestSchema },
    response: presignResponseSchema,
    errors: ["FORBIDDEN", "QUOTA_EXCEEDED", "TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE", "RATE_LIMITED", "ERASURE_IN_PROGRESS"],
  },
  "signed-urls": {
    summary: "Get signed download URLs",
    description:
      "Presigned GET URLs for keys the caller may read; linked images only from their processed variants, linked videos as uploaded or as their poster frame.",
    tag: "uploads",
    request: { json: signedUrlsRequestSchema },
    response: signedUrlsResponseSchema,
    errors: ["FORBIDDEN"],
  },
  "upload-policy": {
    summary: "Get the caller's upload policy",
    description: "The owner types the caller's role may presign, with their allowed types and size limits.",
    tag: "uploads",
    response: callerPolicySchema,
    errors: [],
  },
  "upload-parts": {
    summary: "Sign upload parts",
    description:
      "Presigned UploadPart URLs for parts of a multipart upload, each signing its part's exact length; moves the staging deadline forward up to the maximum lifetime. Only the uploader may ask.",
    tag: "uploads",
    request: { json: signPartsRequestSchema },
    response: signPartsResponseSchema,
    errors: OWN_UPLOAD_ERRORS,
    pathParameters: { uploadId: UPLOAD_ID },
  },
  "list-upload-parts": {
    summary: "List uploaded parts",
    description: "The parts storage already holds (ListParts), so a client that restarted resumes without re-sending them.",
    tag: "uploads",
    response: listPartsResponseSchema,
    errors: OWN_UPLOAD_ERRORS,
    pathParameters: { uploadId: UPLOAD_ID },
  },
  "complete-upload": {
    summary: "Complete a multipart upload",
    description: "Checks that every planned part is stored with its planned size and assembles the object (CompleteMultipartUpload).",
    tag: "uploads",
    request: { json: completeMultipartRequestSchema },
    response: completeMultipartResponseSchema,
    errors: [...OWN_UPLOAD_ERRORS, "NOT_UPLOADED"],
    pathParameters: { uploadId: UPLOAD_ID },
  },
  "cancel-upload": {
    summary: "Cancel an upload",
    description:
      "The uploader cancels a staged upload before consume: its object is deleted or its multipart upload aborted, and the reservation given back at once.",
    tag: "uploads",
    response: null,
    errors: OWN_UPLOAD_ERRORS,
    pathParameters: { uploadId: UPLOAD_ID },
  },
  "public-signature-put": {
    summary: "Upload a signature",
    description: "The signature's bytes as the body (at most 4 MiB); checked, scanned and stored, and the token is burnt.",
    tag: "signatures",
    request: { raw: Object.keys(OWNER_TYPE_POLICIES.form_signature.maxBytesByType) },
    response: storedSignatureSchema,
    errors: [
      ...TOKEN_ERRORS,
      "INVALID_REQUEST",
      "QUOTA_EXCEEDED",
      "TOO_LARGE",
      "UNSUPPORTED_MEDIA_TYPE",
      "CONTENT_MISMATCH",
      "MALWARE_DETECTED",
      "ERASURE_IN_PROGRESS",
    ],
    pathParameters: { token: TOKEN },
  },
  "public-signature-upload-request": {
    summary: "Request a direct signature upload",
    description: "A presigned PUT for a signature too large for the API; the latest request replaces the token's pending upload.",
    tag: "signatures",
    request: { json: requestSignatureUploadSchema },
    response: presignedPutUploadSchema,
    errors: [...TOKEN_ERRORS, "QUOTA_EXCEEDED", "TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE", "ERASURE_IN_PROGRESS"],
    pathParameters: { token: TOKEN },
  },
  "public-signature-complete": {
    summary: "Complete a direct signature upload",
    description: "Checks and scans the directly uploaded bytes and burns the token.",
    tag: "signatures",
    request: { json: completeSignatureUploadSchema },
    response: storedSignatureSchema,
    errors: [...TOKEN_ERRORS, "NOT_UPLOADED", "CONTENT_MISMATCH", "MALWARE_DETECTED"],
    pathParameters: { token: TOKEN },
  },
  health: {
    summary: "Check health",
    description: "The process is up; touches no dependency.",
    tag: "health",
    response: healthResponseSchema,
    errors: [],
    bare: true,
  },
  consume: {
    summary: "Consume uploads",
    description: "Links staged uploads to a parent record exactly once (replayed under the same idempotency key).",
    request: { json: consumeRequestSchema },
    response: consumeResponseSchema,
    errors: ["NOT_FOUND", "FORBIDDEN", "ALREADY_CONSUMED", "EXPIRED", "NOT_UPLOADED", "CONTENT_MISMATCH", "MALWARE_DETECTED", "ERASURE_IN_PROGRESS"],
  },
  release: {
    summary: "Release objects",
    description: "The parent was deleted: deletes its linked media objects and gives their bytes back to the quota.",
    request: { json: releaseRequestSchema },
    response: releaseResponseSchema,
    errors: ["FORBIDDEN"],
  },
  publish: {
    summary: "Publish an image",
    description:
      "Writes responsive, immutable renditions of a processed, linked logo or minisite image to the public bucket and answers its public URL and srcset. Publishing again writes nothing and answers the same.",
    request: { json: publishRequestSchema },
    response: publishResponseSchema,
    errors: ["FORBIDDEN", "NOT_FOUND", "STILL_PROCESSING", "UNSUPPORTED_MEDIA_TYPE"],
  },
  unpublish: {
    summary: "Unpublish an image",
    description: "Deletes a published image's renditions from the public bucket and gives their bytes back.",
    request: { json: unpublishRequestSchema },
    response: unpublishResponseSchema,
    errors: [],
  },
  "erase-user": {
    summary: "Erase a member's uploads",
    description:
      "Deletes every object of one member in one org — uploads of every owner type, processed copies, published renditions — cancels their uploads in flight and gives the bytes back as release does, in bounded batches: call again with the answered cursor until `complete`. While it runs, presign and consume of that member in that org answer ERASURE_IN_PROGRESS. The receipt is stored and answered again under the same idempotency key.",
    request: { json: eraseUserRequestSchema },
    response: eraseResponseSchema,
    errors: [],
  },
  "erase-org": {
    summary: "Erase an organisation's uploads",
    description:
      "As erase-user for every upload of the org, its published minisite and unconsumed signatures included; signed records under the retention lock are kept and listed in the receipt with the end of their retention.",
    request: { json: eraseOrgRequestSchema },
    response: eraseResponseSchema,
    errors: [],
  },
  "export-user": {
    summary: "Export a member's uploads",
    description:
      "A page of the member's linked uploads in the org (owner type, content type, size, created time, dimensions) with signed URLs of the best copy of each — an image's processed copy, never its uploaded bytes. Call again with the cursor until it is null.",
    request: { json: exportUserRequestSchema },
    response: exportUserResponseSchema,
    errors: [],
  },
  "issue-signature-token": {
    summary: "Issue a signature token",
    description: "A single-use signing link for one submission of one form.",
    request: { json: issueSignatureTokenSchema },
    response: issueSignatureTokenResponseSchema,
    errors: [],
  },
  usage: {
    summary: "Get an organisation's usage",
    request: { json: usageRequestSchema },
    response: usageResponseSchema,
    errors: [],
  },
  "set-quota": {
    summary: "Set an organisation's quota",
    request: { json: setQuotaRequestSchema },
    response: setQuotaResponseSchema,
    errors: [],
  },
  sweeper: {
    summary: "Sweep expired uploads",
    description: "What the 5-minute schedule runs: early release of expired URLs, the deadline sweep and the media re-drive. Takes any JSON (`{}`).",
    request: { json: sweeperRequestSchema },
    response: sweeperResponseSchema,
    errors: [],
  },
  "orphan-audit": {
    summary: "Audit orphaned objects",
    description:
      "Lists both buckets and reports objects with no record of any kind older than the staging lifetime; with `delete`, deletes them (never under records/, never when the circuit breaker trips). The daily schedule only reports.",
    request: { json: orphanAuditRequestSchema },
    response: orphanAuditReportSchema,
    errors: [],
  },
};
