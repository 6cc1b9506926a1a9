/** Signature tokens for this container: kept by the staging store's instance (same Redis, same scripts). */
import type { SignatureTokens } from "@fitkit/core/signatures/signature-tokens";
import { stagingStore } from "./staging-store.js";

export const signatureTokens = (): Promise<SignatureTokens> => stagingStore();
