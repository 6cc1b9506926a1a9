/**
 * The token-gated public signature upload: the bytes arrive through the API (at most
 * PUBLIC_SIGNATURE_PUT_MAX_BYTES; larger ones use the direct upload in
 * `direct-signature-upload.ts`), are checked against the declared type and scanned before anything
 * is stored, land in the compliance bucket under `incoming/` with their SHA-256, and are staged as a
 * `form_signature` upload so the normal consume/sweep rules apply. A failed attempt never burns the token.
 */
import { createHash } from "node:crypto";
import * as z from "zod";
import type { UploadSettings } from "../config.js";
import { sniff } from "../content/sniff.js";
import { PUBLIC_SIGNATURE_PUT_MAX_BYTES } from "../contract/catalog.js";
import {
  ContentMismatchError,
  DependencyUnavailableError,
  erasureInProgress,
  InvalidRequestError,
  MalwareDetectedError,
  QuotaExceededError,
  RateLimitedError,
  TooLargeError,
  UnsupportedMediaTypeError,
} from "../errors.js";
import { type Log, silentLog } from "../logging.js";
import { maxBytesFor } from "../policies/owner-types.js";
import type { Scanner } from "../scanning/scanner.js";
import type { StagingStore } from "../staging/staging-store.js";
import type { ObjectStore } from "../storage/object-store.js";
import { serverMetadataFor } from "../uploads/upload.js";
import type { SignatureTokens } from "./signature-tokens.js";
import { mediaTypeOf, signatureUpload, TOKEN_ERRORS, validToken } from "./token-access.js";

export interface PublicSignatureDeps {
  store: Pick<StagingStore, "stage" | "discardStaged">;
  tokens: Pick<SignatureTokens, "checkSignatureToken" | "useSignatureToken">;
  objects: ObjectStore;
  scanner?: Scanner | null;
  settings: Pick<UploadSettings, "presignTtlSeconds" | "stagingGraceSeconds" | "orgQuotaBytes" | "publicPutRatePerMinute">;
  complianceBucket: string;
  log?: Log;
}

export interface PublicSignatureRequest {
  token: string;
  /** The request's Content-Type header. */
  contentType: string | undefined;
  body: Uint8Array;
  /** The client's address, for the per-IP rate limit. */
  clientIp: string;
}

/** A stored signature upload (the reply of the signature PUT and of the direct upload's complete); documented, never parsed at run time. */
export const storedSignatureSchema = z.object({
  uploadId: z.string(),
  /** Base64 SHA-256 of the stored bytes, as computed by the server. */
  sha256: z.string(),
  size: z.number().int().min(1),
});
export type StoredSignature = z.output<typeof storedSignatureSchema>;

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

/**
 * Invariants: the token is burnt only by a stored, staged upload (concurrent uses: exactly one
 * wins); an object exists only while its upload is on the sweeper's list (staged before the PUT,
 * deleted again if the token was lost to another attempt).
 */
export async function publicSignatureUpload(deps: PublicSignatureDeps, request: PublicSignatureRequest): Promise<StoredSignature> {
  const log = deps.log ?? silentLog;
  const contentType = mediaTypeOf(request.contentType);
  const maxBytes = maxBytesFor("form_signature", contentType);
  if (maxBytes === undefined) throw new UnsupportedMediaTypeError("Signatures are accepted as image/png, image/jpeg or application/pdf.");
  if (request.body.length > maxBytes) throw new TooLargeError(`A signature is at most ${maxBytes} bytes.`, [{ maxBytes }]);
  if (request.body.length > PUBLIC_SIGNATURE_PUT_MAX_BYTES) {
    throw new TooLargeError(
      `This route takes at most ${PUBLIC_SIGNATURE_PUT_MAX_BYTES} bytes; upload larger files with POST /public/signatures/{token}/uploads.`,
      [{ maxBytes: PUBLIC_SIGNATURE_PUT_MAX_BYTES, use: "POST /public/signatures/{token}/uploads" }],
    );
  }
  if (request.body.length === 0) throw new InvalidRequestError("The body is empty.", [{ path: "body", message: "empty" }]);

  const { tokenHash, token } = await validToken(deps.tokens, request, deps.settings.publicPutRatePerMinute);

  const sniffed = await sniff(contentType, request.body);
  if (!sniffed.matches) throw new ContentMismatchError(`The file is not a ${contentType}.`, [{ declared: contentType, detected: sniffed.detected }]);
  if (deps.scanner) {
    const verdict = await deps.scanner.scan(once(request.body));
    if (!verdict.clean) {
      log.error("malware detected in a public signature upload", { orgId: token.orgId, formId: token.formId, signature: verdict.signature });
      throw new MalwareDetectedError("The file contains malware.");
    }
  }

  const sha256 = createHash("sha256").update(request.body).digest("base64");
  const upload = signatureUpload(token, deps.complianceBucket, { contentType, size: request.body.length, sha256 });
  const { uploadId } = upload;
  // Listed for the sweeper before any byte is stored.
  const staged = await deps.store.stage({
    uploads: [upload],
    lifetimeSeconds: deps.settings.presignTtlSeconds + deps.settings.stagingGraceSeconds,
    quota: { orgId: token.orgId, defaultQuotaBytes: deps.settings.orgQuotaBytes },
  });
  if (!staged.ok) {
    if (staged.reason === "erasing") throw erasureInProgress();
    if (staged.reason === "quota_exceeded") throw new QuotaExceededError("The organisation's storage quota is used up.");
    throw new RateLimitedError("Too many uploads; try again later.", staged.retryAfterSeconds);
  }

  try {
    const stored = await deps.objects.put({
      bucket: upload.bucket,
      key: upload.key,
      body: request.body,
      contentType,
      checksumSha256: sha256,
      ifNoneMatch: true,
      metadata: serverMetadataFor(upload),
    });
    // The key holds a fresh random id, so an object already there is not this upload's: leave it
    // alone; a retry gets a new id.
    if (!stored.ok) throw new DependencyUnavailableError("storage", { cause: new Error(`${upload.key} is already taken in storage`) });
  } catch (error) {
    await deps.store.discardStaged([uploadId], token.orgId).catch(() => undefined); // else the sweeper drops it
    throw error;
  }

  const used = await deps.tokens.useSignatureToken(tokenHash, uploadId);
  if (used.state !== "valid") {
    // Another attempt won the token: take this one back (the sweeper would, later).
    await deps.objects.deleteObjects(upload.bucket, [upload.key]).then(
      () => deps.store.discardStaged([uploadId], token.orgId),
      () => undefined,
    );
    // Without pendingOnly the store never answers not_pending.
    throw TOKEN_ERRORS[used.state === "not_pending" ? "used" : used.state]();
  }
  log.info("signature stored", { uploadId, orgId: token.orgId, formId: token.formId, size: upload.size });
  return { uploadId, sha256, size: upload.size };
}
