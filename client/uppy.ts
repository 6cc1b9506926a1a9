/**
 * Uppy adapter: apps that already use Uppy upload through the FitKit API with `@uppy/aws-s3`
 * (5.x, the version with per-request callbacks), without the rest of this client.
 *
 * ```ts
 * const uppy = new Uppy();
 * uppy.use(AwsS3, fitkitAwsS3(uppy, { apiBaseUrl, getToken, ownerType: "exercise_comment" }));
 * const { successful } = await uppy.upload();
 * const uploadIds = successful.map((file) => fitkitUploadOf(file)!.uploadId); // → the parent write
 * ```
 *
 * The server decides everything: a preprocessor presigns (`POST /uploads`, `PRESIGN_MAX_FILES` files per call)
 * before Uppy's uploader runs and records the answer in each file's `meta.fitkit`, so
 * `shouldUseMultipart` follows the server's `mode` and `getChunkSize` is its `partSize` (every
 * part but the last exactly that size, as the signed part URLs require). Part URLs are signed in
 * batches and handed out once each; everything else is one route per callback. Every API call goes
 * through the uploader's own HTTP client (`api-client.ts`): the same token handling, retries,
 * `Retry-After`, server-clock deadlines and typed errors.
 *
 * Only Uppy's types are imported: this module adds no Uppy code to a bundle (the app brings it).
 */

import { MAX_PARTS_PER_SIGNING, MIN_PART_BYTES, PRESIGN_MAX_FILES, type PresignableOwnerType } from "@fitkit/core/contract/catalog";
import type { AwsS3MultipartOptions, AwsS3Part, AwsS3UploadParameters } from "@uppy/aws-s3";
import type { Body, Meta, Uppy, UppyFile } from "@uppy/core";
import { createApiClient } from "./api-client.js";
import { UploadClientError } from "./errors.js";
import { type RetryOptions, retryPolicy } from "./retry.js";
import { typeForFileName, type UploadedFile } from "./uploader.js";

export interface FitKitUppyOptions {
  /** The API origin (and path prefix, if any), e.g. `https://uploads.fitkit.app`. */
  apiBaseUrl: string;
  /** The current session token (e.g. Clerk's `getToken`), asked for before every API call. */
  getToken: () => string | null | undefined | Promise<string | null | undefined>;
  /** What the files are for (every file of this Uppy instance). */
  ownerType: PresignableOwnerType;
  /**
   * Ask for a multipart (resumable) upload for every video over 5 MiB, not only for files over
   * the server's threshold. Default false: the server decides by size alone.
   */
  multipartVideos?: boolean;
  /** Part URLs asked for per `POST /uploads/{uploadId}/parts` (1 to the API's `MAX_PARTS_PER_SIGNING`). Default 10. */
  partsPerSigning?: number;
  /** Retries of API calls after network errors and transient answers (429, 502–504). */
  retry?: RetryOptions;
  /** Defaults to the global `fetch`. */
  fetch?: typeof fetch;
}

/** What presign planned for a file, kept in the Uppy file's `meta.fitkit` (persisted by Golden Retriever). */
export interface FitKitUploadMeta {
  uploadId: string;
  key: string;
  mode: "single" | "multipart";
  /** Multipart only: every part but the last is exactly this many bytes. */
  partSize?: number;
  partCount?: number;
}

/** The upload to send with the parent write, once Uppy reports the file uploaded; `undefined` before presign. */
export function fitkitUploadOf(file: { meta: Meta; size: number | null; type: string; name?: string }): UploadedFile | undefined {
  const plan = file.meta.fitkit as FitKitUploadMeta | undefined;
  if (!plan) return undefined;
  return { uploadId: plan.uploadId, key: plan.key, contentType: file.type, size: file.size ?? 0, ...(file.name ? { fileName: file.name } : {}) };
}

/** A single-PUT presign's URL and headers (kept in memory, never in `meta`: they are bearer credentials). */
interface SinglePut {
  url: string;
  headers: Record<string, string>;
  /** Local-clock time after which the URL has expired. */
  deadline: number;
}

type SignedPart = SinglePut;

/** One multipart upload's part URLs: signed ahead in batches, each handed out once. */
interface PartSigner {
  ready: Map<number, SignedPart>;
  pending: Map<number, Promise<void>>;
  /** Parts a URL was handed out for, or storage already holds: not signed ahead again. */
  done: Set<number>;
}

/**
 * Any Uppy instance: its meta and body types are the app's. The options it returns are what
 * `uppy.use(AwsS3, …)` takes, which is typed for Uppy's base `Meta` and `Body` whatever the app's are.
 */
// biome-ignore lint/suspicious/noExplicitAny: the app's own Meta/Body types must be accepted
type AnyUppy = Uppy<any, any>;

/** Headers a browser computes itself and refuses to let a script set. */
const FORBIDDEN_HEADERS = new Set(["content-length", "host"]);
/** A URL this close to its expiry is signed again rather than handed out. */
const EXPIRY_MARGIN_MS = 15_000;

const withoutForbidden = (headers: Record<string, string>) =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => !FORBIDDEN_HEADERS.has(name.toLowerCase())));

/** The error Uppy recognises as a cancellation (pause, remove): never a failure to report. */
function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error("The operation was aborted"), { name: "AbortError", cause: signal.reason });
}

/**
 * `@uppy/aws-s3` options that upload through the FitKit API, for `uppy.use(AwsS3, …)`. Also adds
 * the presign preprocessor to `uppy`. Read each file's upload with {@link fitkitUploadOf}.
 */
export function fitkitAwsS3(uppy: AnyUppy, options: FitKitUppyOptions): AwsS3MultipartOptions<Meta, Body> {
  const api = createApiClient({
    apiBaseUrl: options.apiBaseUrl,
    getToken: options.getToken,
    fetch: options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init)),
    retry: retryPolicy(options.retry),
  });
  const partsPerSigning = Math.min(MAX_PARTS_PER_SIGNING, Math.max(1, options.partsPerSigning ?? 10));
  const singlePuts = new Map<string, SinglePut>();
  const signers = new Map<string, PartSigner>();
  const never = new AbortController().signal;

  /** An API call under Uppy's optional signal; a cancellation is the AbortError Uppy expects. */
  async function uppyCall<T>(signal: AbortSignal | undefined, send: (signal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await send(signal ?? never);
    } catch (error) {
      if (signal?.aborted) throw abortError(signal);
      throw error;
    }
  }

  const contentTypeOf = (file: UppyFile<Meta, Body>) => file.type || typeForFileName(file.name ?? "");
  const planOf = (file: UppyFile<Meta, Body>) => file.meta.fitkit as FitKitUploadMeta | undefined;

  /** Presigns `files` (at most `PRESIGN_MAX_FILES`) in one call and records each plan in its file's meta. */
  async function presign(files: UppyFile<Meta, Body>[], signal?: AbortSignal): Promise<void> {
    const uploads = await uppyCall(signal, (callSignal) =>
      api.presign(
        options.ownerType,
        files.map((file) => {
          const contentType = contentTypeOf(file);
          // Uppy 5 sends a file of S3's minimum part size or less in one request whatever `shouldUseMultipart` says.
          const askMultipart = options.multipartVideos === true && contentType.startsWith("video/") && (file.size ?? 0) > MIN_PART_BYTES;
          return { contentType, size: file.size ?? 0, ...(file.name ? { fileName: file.name } : {}), ...(askMultipart ? { multipart: true } : {}) };
        }),
        callSignal,
      ),
    );
    files.forEach((file, index) => {
      const upload = uploads[index]!;
      const plan: FitKitUploadMeta =
        upload.mode === "multipart"
          ? { uploadId: upload.uploadId, key: upload.key, mode: "multipart", partSize: upload.partSize, partCount: upload.partCount }
          : { uploadId: upload.uploadId, key: upload.key, mode: "single" };
      if (upload.mode === "single") singlePuts.set(upload.uploadId, { url: upload.url, headers: upload.headers, deadline: upload.deadline });
      uppy.setFileMeta(file.id, { fitkit: plan });
    });
  }

  // Before any uploader: every file gets its server plan (files that have one keep it, e.g. on retry).
  uppy.addPreProcessor(async (fileIDs) => {
    const files = uppy.getFilesByIds(fileIDs).filter((file) => !file.isRemote && !planOf(file));
    for (let i = 0; i < files.length; i += PRESIGN_MAX_FILES) await presign(files.slice(i, i + PRESIGN_MAX_FILES));
  });

  /** The file's current plan, presigning it again when `stale` says the one it has cannot be used. */
  async function currentPlan(file: UppyFile<Meta, Body>, stale: (plan: FitKitUploadMeta) => boolean, signal?: AbortSignal): Promise<FitKitUploadMeta> {
    const plan = planOf(uppy.getFile(file.id) ?? file);
    if (plan && !stale(plan)) return plan;
    await presign([uppy.getFile(file.id) ?? file], signal);
    return planOf(uppy.getFile(file.id))!;
  }

  function signerFor(uploadId: string): PartSigner {
    const known = signers.get(uploadId);
    if (known) return known;
    const signer: PartSigner = { ready: new Map(), pending: new Map(), done: new Set() };
    signers.set(uploadId, signer);
    return signer;
  }

  /** Signs `partNumber` and the next parts not yet handed out, in one call. */
  function signBatch(uploadId: string, partNumber: number, partCount: number): Promise<void> {
    const signer = signerFor(uploadId);
    const numbers = [partNumber];
    for (let n = partNumber + 1; n <= partCount && numbers.length < partsPerSigning; n++) {
      if (!signer.done.has(n) && !signer.ready.has(n) && !signer.pending.has(n)) numbers.push(n);
    }
    // Not under one part's signal: the batch serves the other parts too.
    const batch = api.signParts(uploadId, numbers, never).then((parts) => {
      for (const part of parts) signer.ready.set(part.partNumber, { url: part.url, headers: part.headers, deadline: part.deadline });
    });
    const settled = batch.finally(() => {
      for (const n of numbers) if (signer.pending.get(n) === settled) signer.pending.delete(n);
    });
    for (const n of numbers) signer.pending.set(n, settled);
    return settled;
  }

  async function signPart(
    file: UppyFile<Meta, Body>,
    { uploadId, partNumber, signal }: { uploadId: string; partNumber: number; signal?: AbortSignal },
  ): Promise<AwsS3UploadParameters> {
    const signer = signerFor(uploadId);
    const partCount = planOf(uppy.getFile(file.id) ?? file)?.partCount ?? partNumber;
    const aborted = signal && new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(abortError(signal)), { once: true }));
    aborted?.catch(() => undefined);
    for (let signings = 0; ; signings++) {
      if (signal?.aborted) throw abortError(signal);
      const ready = signer.ready.get(partNumber);
      signer.ready.delete(partNumber);
      // A URL signed ahead must have time left; one just signed for this part is used as it is
      // (near the upload's maximum lifetime the server signs short-lived URLs).
      if (ready && (signings > 0 || ready.deadline - Date.now() > EXPIRY_MARGIN_MS)) {
        // Each URL once: a retry of this part (e.g. after "Request has expired") gets a fresh one.
        signer.done.add(partNumber);
        return { method: "PUT", url: ready.url, headers: withoutForbidden(ready.headers) };
      }
      if (signings > 0) throw new UploadClientError("BAD_RESPONSE", `The part-URL answer has no URL for part ${partNumber}.`, { status: 201 });
      const waitFor = signer.pending.get(partNumber) ?? signBatch(uploadId, partNumber, partCount);
      await (aborted ? Promise.race([waitFor, aborted]) : waitFor);
    }
  }

  return {
    shouldUseMultipart: (file) => planOf(file)?.mode === "multipart",

    // Uppy asks before it creates the upload, with the file's bytes only: the plan is already in meta.
    getChunkSize: (data) => {
      const file = uppy.getFiles().find((candidate) => candidate.data === data);
      const partSize = file && planOf(file)?.partSize;
      if (!partSize) throw new Error("fitkitAwsS3: no multipart plan for this file (was it presigned by fitkitAwsS3's preprocessor?)");
      return partSize;
    },

    async getUploadParameters(file, requestOptions) {
      const signal = requestOptions?.signal;
      const plan = await currentPlan(
        file,
        (current) => current.mode === "single" && (singlePuts.get(current.uploadId)?.deadline ?? 0) - Date.now() <= EXPIRY_MARGIN_MS,
        signal,
      );
      const put = singlePuts.get(plan.uploadId);
      if (plan.mode !== "single" || !put)
        throw new UploadClientError("BAD_RESPONSE", `The server planned a ${plan.mode} upload for "${file.name}", which Uppy sends in one request.`);
      singlePuts.delete(plan.uploadId);
      return { method: "PUT", url: put.url, headers: withoutForbidden(put.headers) };
    },

    async createMultipartUpload(file) {
      const plan = await currentPlan(file, (current) => current.mode !== "multipart");
      return { uploadId: plan.uploadId, key: plan.key };
    },

    signPart: (file, { uploadId, partNumber, signal }) => signPart(file, { uploadId, partNumber, ...(signal ? { signal } : {}) }),

    async listParts(_file, { uploadId, signal }) {
      const parts = await uppyCall(signal, (callSignal) => api.listParts(uploadId!, callSignal));
      const signer = signerFor(uploadId!);
      for (const part of parts) signer.done.add(part.partNumber);
      return parts.map((part): AwsS3Part => ({ PartNumber: part.partNumber, Size: part.size, ETag: part.etag }));
    },

    async completeMultipartUpload(_file, { uploadId, signal }) {
      // The server lists the parts itself and checks each one's planned size: Uppy's ETags are not needed.
      const body = await uppyCall(signal, (callSignal) => api.completeMultipart(uploadId!, callSignal));
      signers.delete(uploadId);
      // Uppy's upload-success `body`. No `location`: objects are read through signed URLs only.
      const result: { location?: string; uploadId: string; key: string; size: number } = { uploadId: body.uploadId, key: body.key, size: body.size };
      return result;
    },

    async abortMultipartUpload(file, { uploadId }) {
      signers.delete(uploadId!);
      // The file's plan goes with it: a retry presigns a new upload.
      if (uppy.getFile(file.id)) uppy.setFileMeta(file.id, { fitkit: undefined });
      try {
        await api.cancel(uploadId!, never);
      } catch (error) {
        // Already gone (swept, expired, cancelled): nothing left to give back.
        if (!(error instanceof UploadClientError && (error.status === 404 || error.status === 410))) throw error;
      }
    },
  };
}
