/** Internal `issue-signature-token` — a single-use link for a signatory without an account. */
import { issueSignatureToken, issueSignatureTokenSchema } from "@fitkit/core/signatures/signature-tokens";
import { stagingStore } from "./lib/deps/staging-store.js";
import { internalOperation } from "./lib/internal.js";

export const handler = internalOperation(issueSignatureTokenSchema, async (request) => issueSignatureToken({ store: await stagingStore() }, request));
