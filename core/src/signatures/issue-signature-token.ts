/** Issue a signature token: a single-use link for a signatory without an account. */
import { randomBytes } from "node:crypto";
import * as z from "zod";
import { safeId } from "../policies/request-fields.js";
import { hashToken, type SignatureTokens } from "./signature-tokens.js";

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

/** The reply of the internal `issue-signature-token`; documented, never parsed at run time. */
export const issueSignatureTokenResponseSchema = z.object({
  token: z.string(),
  /** Where the signatory's page sends the signature: `/public/signatures/<token>`. */
  path: z.string(),
  expiresAt: z.iso.datetime(),
});
export type IssueSignatureTokenResponse = z.output<typeof issueSignatureTokenResponseSchema>;

/** Invariant: the token leaves here once, in the reply; the store only ever sees its hash. */
export async function issueSignatureToken(
  deps: { tokens: Pick<SignatureTokens, "putSignatureToken"> },
  request: IssueSignatureTokenRequest,
): Promise<IssueSignatureTokenResponse> {
  const token = randomBytes(32).toString("base64url");
  const { expiresAt } = await deps.tokens.putSignatureToken(
    { tokenHash: hashToken(token), orgId: request.orgId, formId: request.formId, submissionId: request.submissionId },
    request.ttlSeconds,
  );
  return { token, path: `/public/signatures/${token}`, expiresAt: new Date(expiresAt).toISOString() };
}
