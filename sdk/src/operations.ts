/**
 * The internal operations a service calls, with their inputs typed from the request schemas the
 * use-cases export and their results from the use-cases' own result types — type imports only, so
 * nothing of core (zod, Node built-ins) is loaded by the SDK at run time.
 */
import type { OwnerType } from "@fitkit/core/contract/catalog";
import type { EraseResponse, eraseOrgRequestSchema, eraseUserRequestSchema } from "@fitkit/core/erasure/erase";
import type { ExportUserResponse, exportUserRequestSchema } from "@fitkit/core/erasure/export-user";
import type { PublishResponse, publishRequestSchema, unpublish, unpublishRequestSchema } from "@fitkit/core/publishing/publish";
import type { release, releaseRequestSchema } from "@fitkit/core/quotas/release";
import type { setQuota, setQuotaRequestSchema } from "@fitkit/core/quotas/set-quota";
import type { UsageResponse, usageRequestSchema } from "@fitkit/core/quotas/usage";
import type { issueSignatureToken, issueSignatureTokenSchema } from "@fitkit/core/signatures/issue-signature-token";
import type { ConsumeResponse, consumeRequestSchema } from "@fitkit/core/staging/consume";
import type { z } from "zod";

/** The operations a service may call (`sweeper` runs on its schedule only). Names as in docs/API.md. */
export const UPLOADS_OPERATIONS = [
  "consume",
  "release",
  "publish",
  "unpublish",
  "erase-user",
  "erase-org",
  "export-user",
  "issue-signature-token",
  "usage",
  "set-quota",
] as const;
export type UploadsOperation = (typeof UPLOADS_OPERATIONS)[number];

/**
 * `consume`'s request; `idempotencyKey` may be left out: the SDK then makes one (a UUID), sends
 * the same one on every retry and returns it with the result.
 */
export type ConsumeInput = Omit<z.input<typeof consumeRequestSchema>, "idempotencyKey" | "ownerType"> & {
  ownerType: OwnerType;
  idempotencyKey?: string;
};
/** `consume`'s reply, and the idempotency key it was made under (store it to replay the call). */
export type ConsumeResult = ConsumeResponse & { idempotencyKey: string };

export type ReleaseInput = z.input<typeof releaseRequestSchema>;
export type ReleaseResult = Awaited<ReturnType<typeof release>>;

export type PublishInput = z.input<typeof publishRequestSchema>;
export type PublishResult = PublishResponse;

export type UnpublishInput = z.input<typeof unpublishRequestSchema>;
export type UnpublishResult = Awaited<ReturnType<typeof unpublish>>;

export type IssueSignatureTokenInput = z.input<typeof issueSignatureTokenSchema>;
export type IssueSignatureTokenResult = Awaited<ReturnType<typeof issueSignatureToken>>;

export type UsageInput = z.input<typeof usageRequestSchema>;
export type UsageResult = UsageResponse;

export type SetQuotaInput = z.input<typeof setQuotaRequestSchema>;
export type SetQuotaResult = Awaited<ReturnType<typeof setQuota>>;

/** `erase-user`'s request: pass the answered `cursor` back (same idempotency key) until `status` is `complete`. */
export type EraseUserInput = z.input<typeof eraseUserRequestSchema>;
export type EraseOrgInput = z.input<typeof eraseOrgRequestSchema>;
/** One invocation's answer: `in_progress` with a cursor, or `complete` with the stored receipt. */
export type EraseResult = EraseResponse;
export type ExportUserInput = z.input<typeof exportUserRequestSchema>;
export type ExportUserResult = ExportUserResponse;
