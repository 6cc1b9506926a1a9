/**
 * One file's multipart upload until storage has assembled it: parts sent `concurrency` at a time,
 * their URLs signed in batches (`POST /uploads/{uploadId}/parts`, one request for many parts),
 * each part retried on its own with backoff (and waiting for the network while the device is
 * offline), a part's URL signed again when it expired, then `POST /uploads/{uploadId}/complete`.
 * A resumed upload first asks storage which parts it holds (`GET /uploads/{uploadId}/parts`) and
 * sends only the others. Cancelling (the signal) stops every part and calls `DELETE /uploads/{uploadId}`.
 *
 * Progress counts each part's bytes once: a retried part counts again only past what its earlier
 * attempt had reached, so the total never goes backwards and never passes the file's size.
 */
import type { ApiClient, CompletedUpload, SignedPart } from "./api-client.js";
import { isUploadClientError, UploadClientError } from "./errors.js";
import type { FileProgressChange } from "./progress.js";
import { STORAGE_TRANSIENT_STATUSES, storageError } from "./put-file.js";
import { backoffDelay, type RetryPolicy, sleep, waitUntilOnline } from "./retry.js";
import { abortedError, type PutTransport, type UploadBody } from "./transport.js";

/** How the server cut the file: every part `partSize` bytes but the last. */
export interface PartPlan {
  partSize: number;
  partCount: number;
}

export interface MultipartRequest {
  /** The file's position in the batch (reported in error details). */
  index: number;
  body: UploadBody;
  size: number;
  uploadId: string;
  /** The presign's plan; without it (a resume by id alone) it is read from part 1's signed length. */
  plan?: PartPlan;
  /** Storage may already hold parts (a resumed upload): ask which before sending. */
  resume: boolean;
  api: Pick<ApiClient, "signParts" | "listParts" | "completeMultipart" | "cancel">;
  transport: PutTransport;
  retry: RetryPolicy;
  /** Parts sent at the same time. */
  concurrency: number;
  /** Part URLs asked for per signing request (the server allows `MAX_PARTS_PER_SIGNING`). */
  partsPerSigning: number;
  /** New URLs per part when its URL has expired. */
  maxResigns: number;
  report: (change: FileProgressChange) => void;
  /** Called once the plan is known (before any part is sent). */
  onPlan?: (plan: PartPlan) => void;
  signal: AbortSignal;
}

/** How long a DELETE after a cancel may take before the cancel rejects anyway. */
const CANCEL_TIMEOUT_MS = 10_000;

/**
 * Resolves with the completed upload, or rejects with an UploadClientError: `ABORTED` (after the
 * upload was cancelled on the server), `NETWORK_ERROR` / `DEPENDENCY_UNAVAILABLE` after a part's
 * retries, `STORAGE_REJECTED`, or the API's own error. Except on abort the upload stays staged, so
 * it can be resumed; the error's `details` carry `{ index, uploadId }`.
 */
export async function uploadMultipart(request: MultipartRequest): Promise<CompletedUpload> {
  const { signal, api, uploadId } = request;
  try {
    return await send(request);
  } catch (error) {
    if (!signal.aborted) throw withUpload(error, request.index, uploadId);
    // Best effort, bounded: storage drops the parts and the reservation comes back at once.
    const bounded = new AbortController();
    const timer = setTimeout(() => bounded.abort(), CANCEL_TIMEOUT_MS);
    await api.cancel(uploadId, bounded.signal).catch(() => undefined);
    clearTimeout(timer);
    throw abortedError();
  }
}

async function send(request: MultipartRequest): Promise<CompletedUpload> {
  const { signal, api, uploadId, size, report } = request;
  const urls = new Map<number, SignedPart>();
  /** Signing requests in flight, by the part numbers they cover. */
  const pending = new Map<number, Promise<unknown>>();

  async function signBatch(partNumbers: number[]): Promise<void> {
    const batch = api.signParts(uploadId, partNumbers, signal).then((parts) => {
      for (const part of parts) urls.set(part.partNumber, part);
    });
    for (const n of partNumbers) pending.set(n, batch);
    try {
      await batch;
    } finally {
      for (const n of partNumbers) if (pending.get(n) === batch) pending.delete(n);
    }
  }

  const plan = request.plan ?? (await planFromPartOne());
  request.onPlan?.(plan);
  const partBytes = (n: number) => (n < plan.partCount ? plan.partSize : size - plan.partSize * (plan.partCount - 1));

  /** Without the presign's answer, part 1's signed length is the part size (the whole file when it is the only part). */
  async function planFromPartOne(): Promise<PartPlan> {
    await signBatch([1]);
    const partSize = Number(urls.get(1)?.headers["content-length"]);
    if (!Number.isInteger(partSize) || partSize < 1) throw new UploadClientError("BAD_RESPONSE", "Part 1 was signed without its length.", { status: 201 });
    return { partSize, partCount: Math.max(1, Math.ceil(size / partSize)) };
  }

  // Bytes counted per part (the most any attempt reached) and their sum: monotonic by construction.
  const counted = new Map<number, number>();
  let loaded = 0;
  const count = (partNumber: number, bytes: number, quiet = false) => {
    const before = counted.get(partNumber) ?? 0;
    if (bytes <= before) return;
    counted.set(partNumber, bytes);
    loaded += bytes - before;
    if (!quiet) report({ loaded });
  };
  report({ state: "uploading", attempt: 1 });
  let attempts = 1;

  for (let round = 1; ; round++) {
    let missing = Array.from({ length: plan.partCount }, (_, i) => i + 1);
    if (request.resume || round > 1) {
      const stored = new Set((await api.listParts(uploadId, signal)).filter((p) => p.size === partBytes(p.partNumber)).map((p) => p.partNumber));
      for (const n of stored) count(n, partBytes(n), true);
      report({ loaded });
      missing = missing.filter((n) => !stored.has(n));
    }
    await sendParts(missing);
    try {
      const completed = await api.completeMultipart(uploadId, signal);
      report({ state: "done" });
      return completed;
    } catch (error) {
      // Storage lost a part it had acknowledged (or a resume raced another tab): list and send again, once.
      if (!(isUploadClientError(error) && error.code === "NOT_UPLOADED" && round === 1)) throw error;
    }
  }

  /** Sends `partNumbers` with `concurrency` workers; the first part that fails for good stops the others. */
  async function sendParts(partNumbers: number[]): Promise<void> {
    const parts = new AbortController();
    const onAbort = () => parts.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    let next = 0;
    let firstError: unknown;
    const worker = async () => {
      while (!parts.signal.aborted && next < partNumbers.length) {
        const partNumber = partNumbers[next++]!;
        try {
          await sendPart(partNumber, partNumbers.slice(next), parts.signal);
        } catch (error) {
          firstError ??= error;
          parts.abort();
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(request.concurrency, partNumbers.length) }, worker));
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
    if (signal.aborted) throw abortedError();
    if (firstError !== undefined) throw firstError;
  }

  /** The part's URL: a valid one already signed, or a new batch with the parts that come next. */
  async function urlFor(partNumber: number, upcoming: readonly number[]): Promise<SignedPart> {
    for (;;) {
      const cached = urls.get(partNumber);
      if (cached && Date.now() < cached.deadline) return cached;
      const inFlight = pending.get(partNumber);
      if (inFlight) {
        await inFlight;
        const signed = urls.get(partNumber);
        if (signed) return signed;
        continue;
      }
      const stale = (n: number) => !pending.has(n) && !((urls.get(n)?.deadline ?? 0) > Date.now());
      const batch = [partNumber, ...upcoming.filter(stale).slice(0, request.partsPerSigning - 1)];
      await signBatch(batch);
      const signed = urls.get(partNumber);
      if (!signed) throw new UploadClientError("BAD_RESPONSE", `Part ${partNumber} was not signed.`, { status: 201 });
      return signed;
    }
  }

  async function sendPart(partNumber: number, upcoming: readonly number[], partSignal: AbortSignal): Promise<void> {
    const length = partBytes(partNumber);
    const start = (partNumber - 1) * plan.partSize;
    const body = slice(request.body, start, start + length);
    let failures = 0;
    let resigns = 0;
    for (let attempt = 1; ; attempt++) {
      if (partSignal.aborted) throw abortedError();
      const part = await urlFor(partNumber, upcoming);
      if (attempt > 1) {
        attempts = Math.max(attempts, attempt);
        report({ state: "retrying", attempt: attempts });
      }
      let response: { status: number; text: string };
      try {
        response = await request.transport({
          url: part.url,
          headers: part.headers,
          body,
          size: length,
          signal: partSignal,
          onProgress: (sent) => count(partNumber, Math.min(sent, length)),
        });
      } catch (error) {
        if (partSignal.aborted) throw abortedError();
        if (!(isUploadClientError(error) && error.code === "NETWORK_ERROR")) throw error;
        // Offline is no failure of this part: wait for the network, then try again.
        if (await waitUntilOnline(partSignal)) continue;
        if (++failures > request.retry.retries) throw error;
        await sleep(backoffDelay(request.retry, failures), partSignal);
        continue;
      }
      const { status, text } = response;
      if (status >= 200 && status < 300) {
        count(partNumber, length);
        if (attempt > 1) report({ state: "uploading" });
        return;
      }
      if (status === 403 && /request has expired/i.test(text) && resigns < request.maxResigns) {
        resigns++;
        if (urls.get(partNumber) === part) urls.delete(partNumber);
        continue;
      }
      const storage = storageError(text);
      if (STORAGE_TRANSIENT_STATUSES.has(status) && ++failures <= request.retry.retries) {
        await sleep(backoffDelay(request.retry, failures), partSignal);
        continue;
      }
      const details = [
        {
          index: request.index,
          partNumber,
          ...(storage.code ? { storageCode: storage.code } : {}),
          ...(storage.message ? { storageMessage: storage.message } : {}),
        },
      ];
      if (status >= 500 || status === 429) throw new UploadClientError("DEPENDENCY_UNAVAILABLE", `Storage is unavailable (${status}).`, { status, details });
      throw new UploadClientError("STORAGE_REJECTED", `Storage refused part ${partNumber} (${status}${storage.code ? ` ${storage.code}` : ""}).`, {
        status,
        details,
      });
    }
  }
}

/** Bytes `start`…`end` of the body, without copying where the runtime allows. */
function slice(body: UploadBody, start: number, end: number): UploadBody {
  if (body instanceof Uint8Array) return body.subarray(start, end);
  if (body instanceof ArrayBuffer) return new Uint8Array(body, start, end - start);
  return body.slice(start, end);
}

/** The error with `{ index, uploadId }` added to its details, so the app can resume the upload later. */
function withUpload(error: unknown, index: number, uploadId: string): unknown {
  if (!isUploadClientError(error)) return error;
  const details = [...(error.details ?? []), { index, uploadId }];
  return new UploadClientError(error.code, error.message, { status: error.status, details, cause: error.cause });
}
