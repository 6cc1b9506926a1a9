/**
 * The PUT of one file to storage until storage has it: retries network failures and transient
 * answers with backoff, presigns again when the URL has expired (or will have before it is sent),
 * treats storage's 412 after a lost answer as stored, and stops at once on abort.
 */
import type { PresignedPut } from "./api-client.js";
import { UploadClientError } from "./errors.js";
import type { FileProgressChange } from "./progress.js";
import { backoffDelay, type RetryPolicy, sleep } from "./retry.js";
import { abortedError, type PutTransport, type UploadBody } from "./transport.js";

export interface PutFileRequest {
  /** The file's position in the batch (reported in error details). */
  index: number;
  body: UploadBody;
  size: number;
  /** The URL presign gave this file first. */
  first: PresignedPut;
  /** A new presign for this same file, when its URL has expired. */
  represign: (signal: AbortSignal) => Promise<PresignedPut>;
  transport: PutTransport;
  retry: RetryPolicy;
  /** New presigns allowed for this file. */
  maxRepresigns: number;
  /** This file's progress: states, attempt numbers and bytes sent. */
  report: (change: FileProgressChange) => void;
  signal: AbortSignal;
}

/** Storage answers worth another attempt of the same request. */
export const STORAGE_TRANSIENT_STATUSES = new Set([429, 500, 502, 503, 504]);

/**
 * Resolves with the presigned upload storage accepted (its `uploadId` is the one to link), or
 * rejects with an UploadClientError: `ABORTED`, `NETWORK_ERROR` after the retries,
 * `DEPENDENCY_UNAVAILABLE` (storage kept failing) or `STORAGE_REJECTED`.
 */
export async function putFile(request: PutFileRequest): Promise<PresignedPut> {
  const { signal, retry, report } = request;
  let current = request.first;
  let failures = 0;
  let represigns = 0;
  // True once a PUT to the current URL may have landed without us hearing back.
  let uncertain = false;
  for (let attempt = 1; ; attempt++) {
    if (signal.aborted) throw abortedError();
    // A file that waited its turn past its URL's lifetime gets a fresh URL before it is sent.
    if (Date.now() >= current.deadline && represigns < request.maxRepresigns) {
      represigns++;
      current = await request.represign(signal);
      uncertain = false;
    }
    report({ state: attempt === 1 ? "uploading" : "retrying", attempt });
    let response: { status: number; text: string };
    try {
      response = await request.transport({
        url: current.url,
        headers: current.headers,
        body: request.body,
        size: request.size,
        signal,
        onProgress: (loaded) => report({ loaded }),
      });
    } catch (error) {
      if (signal.aborted) throw abortedError();
      if (!(error instanceof UploadClientError) || error.code !== "NETWORK_ERROR") throw error;
      uncertain = true;
      if (++failures > retry.retries) throw error;
      report({ state: "retrying" });
      await sleep(backoffDelay(retry, failures), signal);
      continue;
    }
    const { status, text } = response;
    if (status >= 200 && status < 300) {
      report({ state: "done" });
      return current;
    }
    // `if-none-match: *` refused: only this URL could have written the key, so an earlier
    // attempt whose answer was lost did land.
    if (status === 412 && uncertain) {
      report({ state: "done" });
      return current;
    }
    if (status === 403 && /request has expired/i.test(text) && represigns < request.maxRepresigns) {
      represigns++;
      current = await request.represign(signal);
      uncertain = false;
      continue;
    }
    const storage = storageError(text);
    if (STORAGE_TRANSIENT_STATUSES.has(status) && ++failures <= retry.retries) {
      report({ state: "retrying" });
      await sleep(backoffDelay(retry, failures), signal);
      continue;
    }
    const details = [
      { index: request.index, ...(storage.code ? { storageCode: storage.code } : {}), ...(storage.message ? { storageMessage: storage.message } : {}) },
    ];
    if (status >= 500 || status === 429) {
      throw new UploadClientError("DEPENDENCY_UNAVAILABLE", `Storage is unavailable (${status}).`, { status, details });
    }
    throw new UploadClientError("STORAGE_REJECTED", `Storage refused the upload (${status}${storage.code ? ` ${storage.code}` : ""}).`, { status, details });
  }
}

/** Code and message of storage's XML error document (S3 and R2 answer the same shape). */
export function storageError(text: string): { code?: string; message?: string } {
  const code = /<Code>([^<]{1,100})<\/Code>/.exec(text)?.[1];
  const message = /<Message>([^<]{1,300})<\/Message>/.exec(text)?.[1];
  return { ...(code ? { code } : {}), ...(message ? { message } : {}) };
}
