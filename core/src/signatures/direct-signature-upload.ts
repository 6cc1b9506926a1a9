/**
 * The direct public signature upload, for files too large to pass through the API (up to the
 * `form_signature` limit, 25 MiB for PDFs): the signatory asks for a presigned PUT into the
 * compliance bucket's `incoming/` (`requestSignatureUpload`), PUTs the bytes straight to storage,
 * then asks the server to check them (`completeSignatureUpload`), which burns the token. The upload
 * is staged at the request exactly as the small PUT stages it, so consume and the sweeper treat
 * both alike. A token holds at most one pending direct upload: the latest request replaces it.
 */

import { createHash } from "node:crypto";
import * as z from "zod";
import type { UploadSettings } from "../config.js";
import { unsignedHeadersOf } from "../content/served-headers.js";
import { SNIFF_BYTES, sniff } from "../content/sniff.js";
import {
  ContentMismatchError,
  ExpiredError,
  erasureInProgress,
  MalwareDetectedError,
  NotFoundError,
  NotUploadedError,
  QuotaExceededError,
  RateLimitedError,
  TooLargeError,
  UnsupportedMediaTypeError,
} from "../errors.js";
import { type Log, silentLog } from "../logging.js";
import { maxBytesFor } from "../policies/owner-types.js";
import { safeId, sha256Base64 } from "../policies/request-fields.js";
import type { Scanner, ScanVerdict } from "../scanning/scanner.js";
import type { PresignedPutUpload } from "../staging/presign.js";
import type { StagingStore } from "../staging/staging-store.js";
import type { ObjectStore } from "../storage/object-store.js";
import type { UrlSigner } from "../storage/url-signer.js";
import { type Clock, systemClock } from "../time/clock.js";
import type { StoredSignature } from "./public-signature-upload.js";
import type { PendingSignatureUpload, SignatureTokens } from "./signature-tokens.js";
import { signatureUpload, TOKEN_ERRORS, validToken } from "./token-access.js";

export const requestSignatureUploadSchema = z.object({
  contentType: z.string().min(1).max(255),
  size: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  sha256: sha256Base64.optional(),
});
export type RequestSignatureUploadBody = z.output<typeof requestSignatureUploadSchema>;

export const completeSignatureUploadSchema = z.object({ uploadId: safeId });
export type CompleteSignatureUploadBody = z.output<typeof completeSignatureUploadSchema>;

type DirectSettings = Pick<UploadSettings, "presignTtlSeconds" | "stagingGraceSeconds" | "orgQuotaBytes" | "publicPutRatePerMinute">;

export interface RequestSignatureUploadDeps {
  store: Pick<StagingStore, "stage" | "discardStaged">;
  tokens: Pick<SignatureTokens, "checkSignatureToken" | "holdPendingUpload">;
  /** Deletes the object of a replaced pending upload, if it was PUT. */
  objects: Pick<ObjectStore, "deleteObjects">;
  signer: UrlSigner;
  settings: DirectSettings;
  complianceBucket: string;
  clock?: Clock;
  log?: Log;
}

export interface CompleteSignatureUploadDeps {
  store: Pick<StagingStore, "discardStaged">;
  tokens: Pick<SignatureTokens, "checkSignatureToken" | "useSignatureToken" | "dropPendingUpload">;
  objects: ObjectStore;
  scanner?: Scanner | null;
  settings: DirectSettings;
  complianceBucket: string;
  clock?: Clock;
  log?: Log;
}

/** The token and the client's address, for the per-IP rate limit. */
export interface PublicCaller {
  token: string;
  clientIp: string;
}

/**
 * Invariants: the policy (type, size) is checked before anything is staged; the upload is staged
 * (quota reserved, on the sweeper's list) before its URL exists; the token's earlier pending upload,
 * if any, is replaced and taken back (object deleted, reservation given back); the token is not burnt.
 */
export async function requestSignatureUpload(
  deps: RequestSignatureUploadDeps,
  caller: PublicCaller,
  body: RequestSignatureUploadBody,
): Promise<PresignedPutUpload> {
  const log = deps.log ?? silentLog;
  const { contentType, size } = body;
  const maxBytes = maxBytesFor("form_signature", contentType);
  if (maxBytes === undefined) throw new UnsupportedMediaTypeError("Signatures are accepted as image/png, image/jpeg or application/pdf.");
  if (size > maxBytes) throw new TooLargeError(`A ${contentType} signature is at most ${maxBytes} bytes.`, [{ maxBytes }]);

  const { tokenHash, token } = await validToken(deps.tokens, caller, deps.settings.publicPutRatePerMinute);
  const upload = signatureUpload(token, deps.complianceBucket, { contentType, size, ...(body.sha256 ? { sha256: body.sha256 } : {}) });
  const { uploadId } = upload;
  const { presignTtlSeconds, stagingGraceSeconds } = deps.settings;
  // SigV4 dates have whole seconds: sign at one, so expiresAt is exactly when storage stops accepting.
  // Chosen before staging, so the URL expires no later than the record's deadline less the grace.
  const signingDate = new Date(Math.floor((deps.clock ?? systemClock).now() / 1000) * 1000);
  const staged = await deps.store.stage({
    uploads: [upload],
    lifetimeSeconds: presignTtlSeconds + stagingGraceSeconds,
    quota: { orgId: token.orgId, defaultQuotaBytes: deps.settings.orgQuotaBytes },
  });
  if (!staged.ok) {
    if (staged.reason === "erasing") throw erasureInProgress();
    if (staged.reason === "quota_exceeded") throw new QuotaExceededError("The organisation's storage quota is used up.");
    throw new RateLimitedError("Too many uploads; try again later.", staged.retryAfterSeconds);
  }

  const urlExpiresAt = signingDate.getTime() + presignTtlSeconds * 1000;
  const pending: PendingSignatureUpload = { uploadId, key: upload.key, contentType, size, ...(body.sha256 ? { sha256: body.sha256 } : {}), urlExpiresAt };
  const held = await deps.tokens.holdPendingUpload(tokenHash, pending);
  if (held.state !== "valid") {
    // The token was used or expired meanwhile; no URL went out, so nothing can be stored under the key.
    await deps.store.discardStaged([uploadId], token.orgId);
    throw TOKEN_ERRORS[held.state]();
  }
  if (held.replaced) await takeBack(deps, held.replaced, token.orgId, log);

  const signed = await deps.signer.presignPut({
    bucket: upload.bucket,
    key: upload.key,
    contentType,
    contentLength: size,
    ...(body.sha256 ? { checksumSha256: body.sha256 } : {}),
    ifNoneMatch: true,
    expiresInSeconds: presignTtlSeconds,
    signingDate,
  });
  log.info("signature direct upload requested", { uploadId, orgId: token.orgId, formId: token.formId, size, replaced: held.replaced?.uploadId });
  return { uploadId, key: upload.key, method: "PUT", url: signed.url, headers: signed.headers, expiresAt: new Date(urlExpiresAt).toISOString() };
}

/**
 * Deletes a pending upload's object (if any) and only then gives back its reservation, so no object
 * is ever left off the sweeper's list. A failure leaves both to the sweeper.
 */
async function takeBack(
  deps: { store: Pick<StagingStore, "discardStaged">; objects: Pick<ObjectStore, "deleteObjects">; complianceBucket: string },
  pending: PendingSignatureUpload,
  orgId: string,
  log: Log,
): Promise<void> {
  try {
    const outcome = await deps.objects.deleteObjects(deps.complianceBucket, [pending.key]);
    if (outcome.deleted.includes(pending.key)) await deps.store.discardStaged([pending.uploadId], orgId);
  } catch (error) {
    log.warn("a replaced or refused signature upload is left to the sweeper", { uploadId: pending.uploadId, error: String(error) });
  }
}

/** Reads a stream to its end (hashing it on the way) when there is no scanner to read it. */
async function drain(stream: AsyncIterable<Uint8Array>): Promise<ScanVerdict> {
  const iterator = stream[Symbol.asyncIterator]();
  while (!(await iterator.next()).done);
  return { clean: true };
}

/**
 * Reads the object, hashing it and — when scanning is on — streaming it to the scanner. A scanner
 * that reads stored objects itself (the scanner Lambda) releases the stream unread; the hash then
 * comes from a second read of the same object.
 */
async function hashAndScan(deps: CompleteSignatureUploadDeps, pending: PendingSignatureUpload) {
  const stream = await deps.objects.stream(deps.complianceBucket, pending.key, pending.size);
  if (!stream) return null;
  const hash = createHash("sha256");
  let hashedAll = false;
  async function* hashed(source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
    for await (const chunk of source) {
      hash.update(chunk);
      yield chunk;
    }
    hashedAll = true;
  }
  const stored = { bucket: deps.complianceBucket, key: pending.key, maxBytes: pending.size };
  const verdict: ScanVerdict = deps.scanner ? await deps.scanner.scan(hashed(stream), stored) : await drain(hashed(stream));
  if (!hashedAll) {
    const again = await deps.objects.stream(deps.complianceBucket, pending.key, pending.size);
    if (!again) return null;
    const sha256 = createHash("sha256");
    for await (const chunk of again) sha256.update(chunk);
    return { verdict, sha256: sha256.digest("base64") };
  }
  return { verdict, sha256: hash.digest("base64") };
}

/**
 * Invariants: the token is burnt only after the stored object proved to be exactly the pending
 * upload (size, type, declared checksum, magic bytes, and clean when a scanner is configured — a
 * scanner that cannot answer is 503, fail closed), and only for the token's current pending upload
 * (concurrent completes: exactly one wins; the others get the token's new state). Refused content is
 * deleted, its reservation given back and the pending upload forgotten; every failure leaves the
 * token usable. A lost race never deletes anything (the winner's object is the same object).
 */
export async function completeSignatureUpload(
  deps: CompleteSignatureUploadDeps,
  caller: PublicCaller,
  body: CompleteSignatureUploadBody,
): Promise<StoredSignature> {
  const log = deps.log ?? silentLog;
  const { tokenHash, token } = await validToken(deps.tokens, caller, deps.settings.publicPutRatePerMinute);
  const pending = token.pendingUpload;
  if (pending?.uploadId !== body.uploadId) {
    throw new NotFoundError("This signature link has no such pending upload (a newer request may have replaced it).", [{ uploadId: body.uploadId }]);
  }
  // Completing this late would leave the consumer less than half the staging grace before the sweeper takes it.
  const now = (deps.clock ?? systemClock).now();
  if (now >= pending.urlExpiresAt + (deps.settings.stagingGraceSeconds * 1000) / 2) {
    throw new ExpiredError("This upload's time to complete has passed; ask for a new upload.", [{ uploadId: pending.uploadId }]);
  }

  const refuse = async (detail: { declared: string; detected: string | null; reason: string }, error: Error): Promise<never> => {
    log.warn("signature direct upload refused", { uploadId: pending.uploadId, orgId: token.orgId, ...detail });
    await takeBack(deps, pending, token.orgId, log);
    await deps.tokens.dropPendingUpload(tokenHash, pending.uploadId);
    throw error;
  };

  const info = await deps.objects.head(deps.complianceBucket, pending.key);
  if (!info) throw new NotUploadedError("Nothing was uploaded for this upload yet.", [{ uploadId: pending.uploadId }]);
  const mismatch = (reason: string, detected: string | null = null) =>
    refuse(
      { declared: pending.contentType, detected, reason },
      new ContentMismatchError(`The stored file is not the declared ${pending.contentType} (${reason}).`, [
        { uploadId: pending.uploadId, declared: pending.contentType, detected, reason },
      ]),
    );
  if (info.size !== pending.size) return mismatch("size");
  if (info.contentType !== pending.contentType) return mismatch("type", info.contentType);
  if (pending.sha256 && info.checksumSha256 && info.checksumSha256 !== pending.sha256) return mismatch("sha256");
  // The URL signs no metadata and no response headers: anything of the kind came from the uploader.
  const unsigned = unsignedHeadersOf(info, {});
  if (unsigned.length > 0) return mismatch(`unsigned headers: ${unsigned.join(", ")}`);

  const head = await deps.objects.readFirstBytes(deps.complianceBucket, pending.key, SNIFF_BYTES);
  if (!head) throw new NotUploadedError("Nothing was uploaded for this upload yet.", [{ uploadId: pending.uploadId }]);
  const sniffed = await sniff(pending.contentType, head);
  if (!sniffed.matches) return mismatch("magic bytes", sniffed.detected);

  const read = await hashAndScan(deps, pending);
  if (!read) throw new NotUploadedError("Nothing was uploaded for this upload yet.", [{ uploadId: pending.uploadId }]);
  if (!read.verdict.clean) {
    log.error("malware detected in a public signature upload", { orgId: token.orgId, formId: token.formId, signature: read.verdict.signature });
    return refuse({ declared: pending.contentType, detected: null, reason: "malware" }, new MalwareDetectedError("The file contains malware."));
  }
  if (pending.sha256 && read.sha256 !== pending.sha256) return mismatch("sha256");

  const used = await deps.tokens.useSignatureToken(tokenHash, pending.uploadId, { pendingOnly: true });
  if (used.state === "not_pending") {
    throw new NotFoundError("This signature link has no such pending upload (a newer request replaced it).", [{ uploadId: pending.uploadId }]);
  }
  if (used.state !== "valid") throw TOKEN_ERRORS[used.state]();
  log.info("signature stored", { uploadId: pending.uploadId, orgId: token.orgId, formId: token.formId, size: pending.size, direct: true });
  return { uploadId: pending.uploadId, sha256: read.sha256, size: pending.size };
}
