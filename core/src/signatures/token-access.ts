/**
 * The steps every public signature route takes before it acts: the token's shape, the per-address
 * rate limit and the token's state, with the error each failure is answered with.
 */
import { ExpiredError, NotFoundError, RateLimitedError, TokenUsedError, type UploadError } from "../errors.js";
import { incomingComplianceKey } from "../policies/object-keys.js";
import { type NewUpload, newUploadId } from "../uploads/upload.js";
import { hashToken, type SignatureToken, type SignatureTokenState, type SignatureTokens, TOKEN_PATTERN } from "./signature-tokens.js";

export const TOKEN_ERRORS: Record<Exclude<SignatureTokenState, "valid">, () => UploadError> = {
  unknown: () => new NotFoundError("Unknown signature link."),
  expired: () => new ExpiredError("This signature link has expired."),
  used: () => new TokenUsedError("This signature link has already been used."),
};

/** The media type of a Content-Type value: lower-case, parameters dropped. */
export const mediaTypeOf = (header: string | undefined): string => (header ?? "").split(";")[0]!.trim().toLowerCase();

/**
 * Checks a public route's token: 404 for a malformed one (before any store call), 429 when the
 * client's address is over `ratePerMinute` (every public signature call counts), then 404/410/409
 * for an unknown, expired or used token. Answers the valid token and its hash; changes nothing.
 */
export async function validToken(
  tokens: Pick<SignatureTokens, "checkSignatureToken">,
  request: { token: string; clientIp: string },
  ratePerMinute: number,
): Promise<{ tokenHash: string; token: SignatureToken }> {
  if (!TOKEN_PATTERN.test(request.token)) throw TOKEN_ERRORS.unknown();
  const tokenHash = hashToken(request.token);
  const checked = await tokens.checkSignatureToken(tokenHash, { subject: `public-put:${request.clientIp}`, limit: ratePerMinute, windowSeconds: 60 });
  if (checked.state === "rate_limited") throw new RateLimitedError("Too many uploads from this address; try again later.", checked.retryAfterSeconds);
  if (checked.state !== "valid") throw TOKEN_ERRORS[checked.state]();
  // Found by the SHA-256 of the secret: no comparison of the secret itself can leak its bytes through timing.
  return { tokenHash, token: checked.token! };
}

/** The staged record of a signature for `token`'s submission: org-owned, under the compliance bucket's `incoming/`, key made here. */
export function signatureUpload(token: SignatureToken, complianceBucket: string, file: { contentType: string; size: number; sha256?: string }): NewUpload {
  const uploadId = newUploadId();
  return {
    uploadId,
    ownerType: "form_signature",
    orgId: token.orgId,
    userId: null,
    bucket: complianceBucket,
    key: incomingComplianceKey({ orgId: token.orgId, uploadId, contentType: file.contentType }),
    contentType: file.contentType,
    size: file.size,
    ...(file.sha256 ? { sha256: file.sha256 } : {}),
    meta: { formId: token.formId, submissionId: token.submissionId },
  };
}
