/**
 * The signatures area in memory (the twin of redis/redis-signatures.ts): single-use signature
 * tokens, their per-IP rate limit and the one pending direct upload a token may hold.
 */
import type { RateLimit } from "../../policies/rate-limit.js";
import type { PendingSignatureUpload, SignatureToken, SignatureTokenCheck, SignatureTokenState, SignatureTokens } from "../../signatures/signature-tokens.js";
import { clone, type MemoryStateBase } from "./memory-state.js";

export const MemorySignatures = <B extends MemoryStateBase>(Base: B) =>
  class MemorySignatures extends Base implements SignatureTokens {
    async putSignatureToken(token: Omit<SignatureToken, "expiresAt" | "uploadId">, ttlSeconds: number): Promise<{ expiresAt: number }> {
      const expiresAt = this.clock.now() + ttlSeconds * 1000;
      this.tokens.set(token.tokenHash, { ...clone(token), expiresAt });
      return { expiresAt };
    }

    private tokenState(token: SignatureToken | undefined, now: number): SignatureTokenState {
      if (!token) return "unknown";
      const expired = now >= token.expiresAt;
      if (token.uploadId) return expired ? "unknown" : "used";
      return expired ? "expired" : "valid";
    }

    async checkSignatureToken(tokenHash: string, rateLimit: RateLimit): Promise<SignatureTokenCheck> {
      const now = this.clock.now();
      const rate = this.rateWindow(rateLimit, now);
      if (rate.retryAfterSeconds) return { state: "rate_limited" as const, retryAfterSeconds: rate.retryAfterSeconds };
      rate.window.push(now);
      const token = this.tokens.get(tokenHash);
      return { state: this.tokenState(token, now), token: token ? clone(token) : null };
    }

    async useSignatureToken(tokenHash: string, uploadId: string, options?: { pendingOnly?: boolean }): Promise<{ state: SignatureTokenState | "not_pending" }> {
      const token = this.tokens.get(tokenHash);
      const state = this.tokenState(token, this.clock.now());
      if (state !== "valid") return { state };
      if (options?.pendingOnly && token!.pendingUpload?.uploadId !== uploadId) return { state: "not_pending" };
      token!.uploadId = uploadId;
      return { state };
    }

    async holdPendingUpload(
      tokenHash: string,
      pending: PendingSignatureUpload,
    ): Promise<{ state: SignatureTokenState; replaced: PendingSignatureUpload | null }> {
      const token = this.tokens.get(tokenHash);
      const state = this.tokenState(token, this.clock.now());
      if (state !== "valid") return { state, replaced: null };
      const replaced = token!.pendingUpload ?? null;
      token!.pendingUpload = clone(pending);
      return { state, replaced };
    }

    async dropPendingUpload(tokenHash: string, uploadId: string): Promise<{ dropped: boolean }> {
      const token = this.tokens.get(tokenHash);
      if (token?.pendingUpload?.uploadId !== uploadId) return { dropped: false };
      delete token.pendingUpload;
      return { dropped: true };
    }
  };
