/**
 * Signature tokens: a random, URL-safe token (256 bits) lets a signatory without an account upload
 * one signature for one form submission. Only its SHA-256 is stored; it works once. A token may
 * also hold one pending direct upload (presigned PUT into storage, completed later).
 * `SignatureTokens` is the port that keeps them; every method is one atomic step on store time.
 */
import { sha256Hex } from "../hashing.js";
import type { RateLimit } from "../policies/rate-limit.js";

export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export const hashToken = (token: string): string => sha256Hex("signature-token", token);

export interface SignatureToken {
  /** SHA-256 (hex) of the token; the token itself is never stored. */
  tokenHash: string;
  orgId: string;
  formId: string;
  submissionId: string;
  /** Store time (ms) after which the token no longer works. */
  expiresAt: number;
  /** Set once the token has been used for an upload. */
  uploadId?: string;
  /** The one direct upload the token holds until it is completed (or replaced by a newer request). */
  pendingUpload?: PendingSignatureUpload;
}

/** A direct upload staged for a token: what `complete` checks the stored object against. */
export interface PendingSignatureUpload {
  uploadId: string;
  key: string;
  contentType: string;
  size: number;
  /** Base64 SHA-256 the client declared (signed into the PUT URL). */
  sha256?: string;
  /** When its presigned PUT URL stops working (ms). */
  urlExpiresAt: number;
}

export type SignatureTokenState = "unknown" | "expired" | "used" | "valid";

export type SignatureTokenCheck = { state: SignatureTokenState; token: SignatureToken | null } | { state: "rate_limited"; retryAfterSeconds: number };

export interface SignatureTokens {
  /** Stores a signature token (by hash) valid for `ttlSeconds` of store time; answers its expiry. */
  putSignatureToken(token: Omit<SignatureToken, "expiresAt" | "uploadId">, ttlSeconds: number): Promise<{ expiresAt: number }>;
  /** Reads a token's state without changing it, counting the rate limit in the same step. */
  checkSignatureToken(tokenHash: string, rateLimit: RateLimit): Promise<SignatureTokenCheck>;
  /**
   * Burns a valid token for `uploadId` — exactly once, however many try at the same time. With
   * `pendingOnly`, a valid token is burnt only if `uploadId` is its pending direct upload, and
   * answers `not_pending` (changing nothing) otherwise.
   */
  useSignatureToken(tokenHash: string, uploadId: string, options?: { pendingOnly?: boolean }): Promise<{ state: SignatureTokenState | "not_pending" }>;
  /** Makes `pending` a valid token's one pending direct upload; answers the state and the pending upload it replaced. */
  holdPendingUpload(tokenHash: string, pending: PendingSignatureUpload): Promise<{ state: SignatureTokenState; replaced: PendingSignatureUpload | null }>;
  /** Forgets the token's pending direct upload if it is `uploadId`; answers whether it was. */
  dropPendingUpload(tokenHash: string, uploadId: string): Promise<{ dropped: boolean }>;
}
