/** Internal `issue-signature-token` — a single-use link for a signatory without an account. */
import { issueSignatureToken, issueSignatureTokenSchema } from "@fitkit/core/signatures/issue-signature-token";
import { signatureTokens } from "./lib/deps/signature-tokens.js";
import { internalOperation } from "./lib/internal.js";

export const handler = internalOperation(issueSignatureTokenSchema, async (request) => issueSignatureToken({ tokens: await signatureTokens() }, request));
