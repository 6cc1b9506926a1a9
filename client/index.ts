/**
 * FitKit upload client — browsers and React Native (and Node ≥ 18): presign → PUT straight to
 * storage (large files in resumable parts) with progress, retries and re-presign on expiry →
 * `{ uploadId, key }` per file.
 * No Node-only dependency; see client/README.md.
 */

export type { SignedUrl, UploadPolicy } from "./api-client.js";
export {
  API_ERROR_CODES,
  type ApiErrorCode,
  type ClientErrorCode,
  isUploadClientError,
  UploadClientError,
  type UploadClientErrorCode,
} from "./errors.js";
export type { FileProgress, FileState, UploadProgress } from "./progress.js";
export type { ResumeStorage } from "./resume-store.js";
export type { RetryOptions } from "./retry.js";
export { fetchTransport, type PutRequest, type PutResponse, type PutTransport, type UploadBody, xhrTransport } from "./transport.js";
export {
  createUploader,
  type OwnerType,
  type ResumeOptions,
  type UploadedFile,
  type Uploader,
  type UploaderOptions,
  type UploadInput,
  type UploadOptions,
  type UploadSource,
} from "./uploader.js";
