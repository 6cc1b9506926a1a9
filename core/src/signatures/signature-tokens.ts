/**
 * Signature tokens: a random, URL-safe token (256 bits) lets a signatory without an account upload
 * one signature for one form submission. Only its SHA-256 is stored; it works once.
 */
import { randomBytes } from "node:crypto";
import * as z from "zod";
import { sha256Hex } from "../hashing.js";
import { safeId } from "../staging/schemas.js";
import type { StagingStore } from "../staging/staging-store.js";

export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export const issueSignatureTokenSchema = z.object({
  orgId: safeId,
  formId: safeId,
  submissionId: safeId,
  ttlSeconds: z
    .number()
    .int()
    .min(60)
    .max(30 * 24 * 3600)
    .default(86_400),
});
export type IssueSignatureTokenRequest = z.output<typeof issueSignatureTokenSchema>;

export const hashToken = (token: string): string => sha256Hex("signature-token", token);

/** Invariant: the token leaves here once, in the reply; the store only ever sees its hash. */
export async function issueSignatureToken(
  deps: { store: Pick<StagingStore, "putSignatureToken"> },
  request: IssueSignatureTokenRequest,
): Promise<{ token: string; path: string; expiresAt: string }> {
  const token = randomBytes(32).toString("base64url");
  const { expiresAt } = await deps.store.putSignatureToken(
    { tokenHash: hashToken(token), orgId: request.orgId, formId: request.formId, submissionId: request.submissionId },
    request.ttlSeconds,
  );
  return { token, path: `/public/signatures/${token}`, expiresAt: new Date(expiresAt).toISOString() };
}
