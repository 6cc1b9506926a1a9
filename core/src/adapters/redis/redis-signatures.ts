/**
 * The signatures area on Redis (signature-scripts.ts; its in-memory twin is
 * memory/memory-signatures.ts): single-use signature tokens, their per-IP rate limit and the one
 * pending direct upload a token may hold.
 */
import { randomUUID } from "node:crypto";
import type { RateLimit } from "../../policies/rate-limit.js";
import type { PendingSignatureUpload, SignatureToken, SignatureTokenCheck, SignatureTokenState, SignatureTokens } from "../../signatures/signature-tokens.js";
import type { RedisAreaBase } from "./redis-area.js";
import { redisKeys } from "./redis-keys.js";
import * as scripts from "./signature-scripts.js";

/** An unused token that expired answers EXPIRED this long before it becomes unknown. */
export const EXPIRED_TOKEN_KEPT_SECONDS = 7 * 24 * 3600;

export const RedisSignatures = <B extends RedisAreaBase>(Base: B) =>
  class RedisSignatures extends Base implements SignatureTokens {
    async putSignatureToken(token: Omit<SignatureToken, "expiresAt" | "uploadId">, ttlSeconds: number): Promise<{ expiresAt: number }> {
      return this.run(
        scripts.PUT_SIGNATURE_TOKEN,
        [redisKeys.signatureToken(token.tokenHash)],
        [JSON.stringify(token), String(ttlSeconds * 1000), String(EXPIRED_TOKEN_KEPT_SECONDS * 1000)],
      );
    }

    async checkSignatureToken(tokenHash: string, rateLimit: RateLimit): Promise<SignatureTokenCheck> {
      const reply = await this.run<{ state: "rate_limited"; retryAfterMs: number } | { state: SignatureTokenState; token: string }>(
        scripts.CHECK_SIGNATURE_TOKEN,
        [redisKeys.signatureToken(tokenHash), redisKeys.rateLimit(rateLimit.subject)],
        [String(rateLimit.limit), String(rateLimit.windowSeconds * 1000), randomUUID()],
      );
      if (reply.state === "rate_limited") return { state: reply.state, retryAfterSeconds: Math.max(1, Math.ceil(reply.retryAfterMs / 1000)) };
      return { state: reply.state, token: reply.token === "" ? null : (JSON.parse(reply.token) as SignatureToken) };
    }

    async useSignatureToken(tokenHash: string, uploadId: string, options?: { pendingOnly?: boolean }): Promise<{ state: SignatureTokenState | "not_pending" }> {
      return this.run(scripts.USE_SIGNATURE_TOKEN, [redisKeys.signatureToken(tokenHash)], [uploadId, options?.pendingOnly ? "1" : "0"]);
    }

    async holdPendingUpload(
      tokenHash: string,
      pending: PendingSignatureUpload,
    ): Promise<{ state: SignatureTokenState; replaced: PendingSignatureUpload | null }> {
      const reply = await this.run<{ state: SignatureTokenState; replaced: string }>(
        scripts.HOLD_PENDING_UPLOAD,
        [redisKeys.signatureToken(tokenHash)],
        [JSON.stringify(pending)],
      );
      return { state: reply.state, replaced: reply.replaced === "" ? null : (JSON.parse(reply.replaced) as PendingSignatureUpload) };
    }

    async dropPendingUpload(tokenHash: string, uploadId: string): Promise<{ dropped: boolean }> {
      return this.run(scripts.DROP_PENDING_UPLOAD, [redisKeys.signatureToken(tokenHash)], [uploadId]);
    }
  };
